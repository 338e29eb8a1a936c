"""SIGTERM while redemptions are in flight: a deploy or a scale-down must lose no answer."""

from __future__ import annotations

import asyncio
import signal
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from resolver_bench.processes import HOST

from tests.e2e.probes import Probe, probe, request
from tests.e2e.taps import confirm, link, open_link, phones, redeem_json
from tests.e2e.upstream import Tally
from tests.e2e.waiting import eventually

if TYPE_CHECKING:
    from collections.abc import Callable

    from resolver_bench.processes import Child

    from tests.e2e.upstream import Upstream

CAMPAIGN = "e2e-shutdown"
# Long enough that SIGTERM reaches the workers while every redeem is still upstream: the
# multi-worker supervisor looks at its signals only every 0.5 s.
REDEEM_LATENCY_MS = 1_500
SINGLE_TAPS, REPEATED, TAPS_EACH = 10, 10, 4  # 10 + 10 x 4 = 50 taps on 20 coupons
# The drain test: redemptions held upstream for the whole drain, and new connections tried
# one every PROBE_PACE_S meanwhile (a pace, not a wait for anything), at most PROBES.
HELD, HELD_LATENCY_MS, PROBE_PACE_S, PROBES = 4, 2_500, 0.01, 400


class SentCounter:
    """Counts the requests whose body httpx has finished sending (an httpcore trace hook)."""

    def __init__(self) -> None:
        self.sent = 0

    async def __call__(self, event: str, info: dict[str, Any]) -> None:
        if event == "http11.send_request_body.complete":
            self.sent += 1


@pytest.mark.parametrize("workers", [1, 2])
async def test_sigterm_answers_every_request_in_flight_and_redeems_nothing_twice(
    start_serve: Callable[..., Child], upstream: Upstream, workers: int
) -> None:
    """50 taps held by a slow upstream, then SIGTERM: all answered, exit 0, one call a coupon."""
    ids = await upstream.coupons(CAMPAIGN, "stop-", SINGLE_TAPS + REPEATED)
    await upstream.slow_redeems(REDEEM_LATENCY_MS)
    serve = start_serve(workers=workers)
    coupons = list(ids)
    taps = [(external_id, 1) for external_id in coupons[:SINGLE_TAPS]]
    taps += [(external_id, n) for external_id in coupons[SINGLE_TAPS:] for n in range(TAPS_EACH)]
    sent = SentCounter()
    async with phones(serve.url, len(taps)) as devices:
        forms = {
            index: await open_link(devices[index], link(CAMPAIGN, external_id))
            for index, (external_id, n) in enumerate(taps)
            if n % 2
        }

        async def tap(index: int, external_id: str) -> httpx.Response:
            if index in forms:
                return await confirm(devices[index], forms[index], trace=sent)
            return await redeem_json(devices[index], link(CAMPAIGN, external_id), trace=sent)

        in_flight = [
            asyncio.create_task(tap(index, external_id))
            for index, (external_id, _) in enumerate(taps)
        ]

        async def all_started() -> bool | None:
            # Every request is sent, and every coupon's first one has reached the upstream.
            tallies = await upstream.tallies()
            return (sent.sent == len(taps) and len(tallies) == len(ids)) or None

        await eventually(all_started, within=5, what="all 50 taps in flight")
        serve.signal(signal.SIGTERM)
        answers = await asyncio.gather(*in_flight, return_exceptions=True)

    broken = [answer for answer in answers if isinstance(answer, BaseException)]
    assert not broken, broken  # no reset connection, no empty reply
    for index, answer in enumerate(answers):
        assert isinstance(answer, httpx.Response)
        if index in forms:
            # the redeeming form's receipt, or another form told it is used or in progress
            assert answer.status_code in (200, 303)
        elif answer.status_code == 409:
            assert answer.json()["outcome"] in ("in_progress", "already_redeemed")
        else:
            assert (answer.status_code, answer.json()["outcome"]) == (200, "redeemed")
    assert await asyncio.to_thread(serve.wait) == 0
    # uvicorn says this only when requests were still open at shutdown: the test hit its mark.
    assert "Waiting for connections to close" in serve.output()
    assert await upstream.tallies() == dict.fromkeys(ids.values(), Tally(calls=1, applied=1))


@pytest.mark.parametrize(
    ("workers", "container"), [(1, False), (2, False), (1, True)], ids=["1", "2", "container"]
)
async def test_a_drain_refuses_or_answers_each_new_connection_and_never_resets_one(
    start_serve: Callable[..., Child], upstream: Upstream, workers: int, container: bool
) -> None:
    """After SIGTERM, with redemptions held upstream, a new connection is refused or answered."""
    held = await upstream.coupons(CAMPAIGN, "held-", HELD)
    await upstream.coupons(CAMPAIGN, "probe-", PROBES)
    await upstream.slow_redeems(HELD_LATENCY_MS)
    serve = start_serve(workers=workers, container=container)
    async with phones(serve.url, HELD) as devices:
        in_flight = [
            asyncio.create_task(redeem_json(device, link(CAMPAIGN, f"held-{n}")))
            for n, device in enumerate(devices)
        ]

        async def all_upstream() -> bool | None:
            return len(await upstream.tallies()) == HELD or None

        await eventually(all_upstream, within=5, what="every held redemption upstream")
        serve.signal(signal.SIGTERM)
        probes: list[asyncio.Task[Probe]] = []
        while not all(task.done() for task in in_flight) and len(probes) < PROBES:
            n = len(probes)
            raw = (
                request("GET", "/readyz")
                if n % 2 == 0
                else request("POST", "/api/v1/redeem", link(CAMPAIGN, f"probe-{n}"))
            )
            probes.append(asyncio.create_task(probe(HOST, serve.port, raw)))
            await asyncio.sleep(PROBE_PACE_S)
        answers = await asyncio.gather(*in_flight)
        tried = await asyncio.gather(*probes)

    assert [answer.status_code for answer in answers] == [200] * HELD
    broken = [(n, result) for n, result in enumerate(tried) if result.kind == "broken"]
    assert not broken, broken  # each of these sent its request and cannot know what happened
    assert any(result.kind == "refused" for result in tried)
    # Readiness may say "ready" only until the drain shows (a refusal or a 503), never after.
    shown = next(
        n for n, result in enumerate(tried) if result.kind == "refused" or result.status == 503
    )
    for n, result in enumerate(tried):
        if n % 2 == 0 and result.kind == "answered":
            allowed = {"draining"} if n > shown else {"ready", "draining"}
            assert result.json()["status"] in allowed, (n, result)
    # Plain uvicorn ends by the signal it drained for; `resolver serve` exits 0.
    assert await asyncio.to_thread(serve.wait) == (-signal.SIGTERM if container else 0)
    assert "Waiting for connections to close" in serve.output()
    tallies = await upstream.tallies()
    assert [tallies[coupon] for coupon in held.values()] == [Tally(calls=1, applied=1)] * HELD
