"""Outbound events over real processes: two replicas of `resolver serve`, a receiver (a second
sandbox) that fails the first deliveries and then goes down for a while, and the audit export.

Prints the members' answer times with the receiver up, slow and down, beside those of a
control replica that sends no events, taken in turn (wall clock: re-measure on a quiet machine
before quoting them), and the CPU each redemption cost the replicas.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import httpx
import psutil
import pytest
from resolver_bench import processes
from resolver_bench.processes import child_environment
from resolver_sandbox.receiver import DEMO_WEBHOOK_SECRET

from tests.e2e.conftest import watch
from tests.e2e.taps import link, phone, redeem_json

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    from resolver_bench.processes import Child

    from tests.e2e.upstream import Upstream

CAMPAIGN = "e2e-events"
CONTROL = "e2e-events-control"
PER_PHASE = 12
FAILED_FIRST = 3
DOWN_SECONDS = 4.0
ARRIVAL_TIMEOUT = 30.0


@pytest.fixture
def receiver_port() -> int:
    return processes.free_port()


@pytest.fixture
def start_receiver(
    tmp_path: Path, receiver_port: int, request: pytest.FixtureRequest
) -> Iterator[Callable[[], Child]]:
    """Starts a sandbox on the same port each time, used only as the events' receiver."""
    started: list[Child] = []

    def start() -> Child:
        child = processes.sandbox(tmp_path, port=receiver_port)
        started.append(child)
        watch(request, child)
        child.start()
        return child

    yield start
    for child in started:
        child.stop()


async def deliveries(receiver: httpx.AsyncClient) -> list[dict[str, Any]]:
    answer = await receiver.get("/_sandbox/hooks")
    assert answer.status_code == 200
    found: list[dict[str, Any]] = answer.json()
    return found


@dataclass
class Times:
    """Answer times (ms) of the replicas sending events, and of a control replica sending none,
    taken in turn so that the machine's load weighs on both alike."""

    events: list[float] = field(default_factory=list)
    control: list[float] = field(default_factory=list)


async def timed(url: str, external_id: str, campaign: str, into: list[float]) -> dict[str, Any]:
    async with phone(url) as client:
        began = time.perf_counter()
        answer = await redeem_json(client, link(campaign, external_id))
        into.append((time.perf_counter() - began) * 1000)
    assert answer.status_code == 200, answer.text
    found: dict[str, Any] = answer.json()
    return found


async def redeem_all(
    replicas: list[Child], control: Child, ids: list[str], times: Times
) -> list[dict[str, Any]]:
    """Redeem each id through the replicas in turn, and as many control coupons beside them;
    the replicas' answers."""
    answers = []
    for index, external_id in enumerate(ids):
        url = replicas[index % len(replicas)].url
        answers.append(await timed(url, external_id, CAMPAIGN, times.events))
        await timed(control.url, external_id, CONTROL, times.control)
    return answers


def cpu_seconds(child: Child) -> float:
    """CPU time (user + system) of a serve process and its workers so far."""
    parent = psutil.Process(child.pid)
    return sum(sum(p.cpu_times()[:2]) for p in [parent, *parent.children(recursive=True)])


def figures(times: list[float]) -> str:
    ordered = sorted(times)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    return f"p50 {statistics.median(ordered):.1f} ms · p95 {p95:.1f} ms · max {ordered[-1]:.1f} ms"


async def wait_for_arrivals(
    receiver: httpx.AsyncClient, earlier: list[dict[str, Any]], redeemed: set[str]
) -> list[dict[str, Any]]:
    """Every try the receiver saw (`earlier`, from before its restart, included), once each
    redeemed coupon's event has been accepted or the time is up."""
    deadline = time.monotonic() + ARRIVAL_TIMEOUT
    while True:
        seen = earlier + await deliveries(receiver)
        if accepted(seen) >= redeemed or time.monotonic() > deadline:
            return seen
        await asyncio.sleep(0.5)


def accepted(seen: list[dict[str, Any]]) -> set[str]:
    """The coupons of the campaign whose coupon.redeemed event the receiver accepted (the
    control's events arrive too: its replica shares the trail, though it sends nothing)."""
    return {
        d["body"]["data"]["coupon_id"]
        for d in seen
        if d["status"] == 204
        and d["type"] == "coupon.redeemed"
        and d["body"]["data"]["campaign_id"] == CAMPAIGN
    }


def export(redis_url: str, since: datetime) -> list[dict[str, str]]:
    """`resolver audit export --format jsonl` as an operator runs it."""
    done = subprocess.run(  # noqa: S603  # our own interpreter and argv, no shell
        [sys.executable, "-m", "resolver", "audit", "export", "--since", since.isoformat(),
         "--format", "jsonl"],
        capture_output=True, text=True, timeout=30, check=True,
        env=child_environment({"RESOLVER_REDIS_URL": redis_url}),
    )  # fmt: skip
    return [json.loads(line) for line in done.stdout.splitlines()]


def report(times: dict[str, Times], cpu: list[float], deliveries: str) -> None:
    """The figures, on the test's output (`pytest -s`)."""
    for phase in ("up", "slow", "down"):
        print(
            f"\nanswer times, receiver {phase:<5} events {figures(times[phase].events)}"
            f" | control {figures(times[phase].control)}",
            end="",
        )
    measured = PER_PHASE * 4
    print(
        f"\nCPU per redemption: events replicas {(cpu[0] + cpu[1]) / measured * 1000:.1f} ms"
        f" | control {cpu[2] / measured * 1000:.1f} ms (the first two deliver the control's"
        " events as well as their own, with every retry)"
        f"\ndeliveries: {deliveries}"
    )


@pytest.mark.timeout(150)
async def test_every_redemption_event_arrives_signed_through_failures_and_an_outage(
    start_serve: Callable[..., Child],
    start_receiver: Callable[[], Child],
    upstream: Upstream,
    redis_url: str,
) -> None:
    """At least once, verified by the library, one webhook-id per event on every try, one
    replica per event; the export matches the sandbox. The answer times are printed."""
    since = datetime.now(UTC) - timedelta(seconds=1)
    count = PER_PHASE * 4 + 2
    made = await upstream.coupons(CAMPAIGN, "m", count)
    control_made = await upstream.client.post(
        "/_sandbox/coupons",
        json={"count": count, "campaignId": CONTROL, "externalIdPrefix": "m", "offerId": CONTROL},
    )
    assert control_made.status_code == 201
    receiver = start_receiver()
    hooks = [{"name": "e2e", "url": f"{receiver.url}/hooks/e2e", "secret": DEMO_WEBHOOK_SECRET}]
    replicas = [
        start_serve(
            webhooks=json.dumps(hooks), webhook_retry_schedule="1,1,2,3,5,30", webhook_timeout=1
        )
        for _ in range(2)
    ]
    control = start_serve()
    names = iter(f"m{i}" for i in range(count))
    times = {phase: Times() for phase in ("warm-up", "up", "slow", "down")}

    def batch(size: int = PER_PHASE) -> list[str]:
        return [next(names) for _ in range(size)]

    answers = await redeem_all(replicas, control, batch(2), times["warm-up"])
    cpu_before = [cpu_seconds(child) for child in (*replicas, control)]
    async with httpx.AsyncClient(base_url=receiver.url, timeout=5.0) as hooks_client:
        await hooks_client.put("/_sandbox/hooks/faults", json={"fail_next": FAILED_FIRST})
        answers += await redeem_all(replicas, control, batch(), times["up"])
        await asyncio.sleep(1.5)  # past the first retry: the failed tries are accepted now
        slow = {"fail_next": 10_000, "delay_ms": 3_000}  # each try times out (after 1 s)
        await hooks_client.put("/_sandbox/hooks/faults", json=slow)
        answers += await redeem_all(replicas, control, batch(), times["slow"])
        await asyncio.sleep(1.5)  # let the slow tries time out
        await hooks_client.put("/_sandbox/hooks/faults", json={})
        before_outage = await deliveries(hooks_client)
    receiver.stop()  # down: every try is refused until it is back
    answers += await redeem_all(replicas, control, batch(), times["down"])
    await asyncio.sleep(DOWN_SECONDS)
    up_again = start_receiver()
    answers += await redeem_all(replicas, control, batch(), times["up"])
    redeemed = {answer["couponId"] for answer in answers}
    assert redeemed == set(made.values())
    async with httpx.AsyncClient(base_url=up_again.url, timeout=5.0) as hooks_client:
        seen = await wait_for_arrivals(hooks_client, before_outage, redeemed)
    cpu = [after - before for after, before in zip(
        [cpu_seconds(child) for child in (*replicas, control)], cpu_before, strict=True
    )]  # fmt: skip

    report(times, cpu, f"{len(seen)} tries seen for {len(redeemed) * 2} events, the control's too")
    assert accepted(seen) == redeemed
    assert all(delivery["verified"] for delivery in seen)
    # The control's events are still on their schedule when ours have all arrived.
    ours = [d for d in seen if d["body"] and d["body"]["data"]["campaign_id"] == CAMPAIGN]
    failed = {d["webhook_id"] for d in ours if d["status"] != 204}
    succeeded = [d["webhook_id"] for d in ours if d["status"] == 204]
    assert len(failed) > FAILED_FIRST  # the first failures, and the slow phase's timeouts
    assert failed <= set(succeeded)  # retried under the same webhook-id
    assert len(succeeded) == len(set(succeeded))  # one replica delivered each, once

    rows = await asyncio.to_thread(export, redis_url, since)
    exported = [row for row in rows if row["campaign"] == CAMPAIGN]
    tallies = await upstream.tallies()
    applied = {c for c, tally in tallies.items() if tally.applied and c in set(made.values())}
    assert {row["coupon_id"] for row in exported if row["outcome"] == "redeemed"} == applied
    assert len(exported) == len(applied)
