"""Redis fails over with redemptions in flight: nobody's coupon is redeemed twice, and the
service comes back by itself.

The back end here accepts a second redeem of a used coupon (as some do), so any claim Redis
lost would show as a second redeem of its coupon. Taps run while Sentinel promotes the replica
(or a Cluster node restarts empty); then every coupon is tapped again until it has a definitive
answer. The figures are printed for docs/reliability.md.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pytest

from resolver.app import create_app
from resolver.domain.coupons import Link
from resolver.domain.errors import StoreUnavailable
from resolver.domain.redemptions import Outcome
from tests.conftest import serving

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from redis.asyncio import Redis
    from resolver_sandbox.redis_topologies import RedisClusterNodes, RedisSentinelNodes

    from resolver.redemption import Redemptions
    from resolver.settings import Settings
    from tests.support.passkit import PassKitDouble

COUPONS = 80
SPREAD_S = 2.5  # the first taps are spread over this long, the switch in their middle
RECOVERY_S = 45.0
# Short upstream timeouts make short leases: a claim whose result Redis lost is read back
# after its lease, within the test's time.
FAST = {"upstream_connect_timeout": 0.2, "upstream_timeout": 0.5}


@dataclass
class Run:
    """What the taps saw."""

    during: Counter[str] = field(default_factory=Counter)
    retries: Counter[str] = field(default_factory=Counter)
    recovered_after: float = 0.0


async def tap(redemptions: Redemptions, link: Link) -> str:
    """One JSON-like tap: its outcome, or `unavailable` when Redis refused."""
    try:
        return (await redemptions.redeem(link, idempotency_key=None)).outcome.value
    except StoreUnavailable:
        return "unavailable"


async def run_through(
    redemptions: Redemptions, passkit: PassKitDouble, switch: Callable[[], Awaitable[None]]
) -> Run:
    """Taps spread over `SPREAD_S` with `switch` in their middle, then every coupon again
    until each has a definitive answer."""
    links = [Link("camp-1", f"member-{number}") for number in range(COUPONS)]
    for link in links:
        passkit.add(link.external_id)
    run = Run()

    async def first(number: int, link: Link) -> None:
        await asyncio.sleep(number * SPREAD_S / COUPONS)
        run.during[await tap(redemptions, link)] += 1

    async def switching() -> None:
        await asyncio.sleep(SPREAD_S / 3)
        await switch()

    await asyncio.gather(switching(), *(first(n, link) for n, link in enumerate(links)))
    started = time.monotonic()
    open_links = list(links)
    while open_links and time.monotonic() - started < RECOVERY_S:
        outcomes = await asyncio.gather(*(tap(redemptions, link) for link in open_links))
        for outcome in outcomes:
            run.retries[outcome] += 1
        open_links = [
            link
            for link, outcome in zip(open_links, outcomes, strict=True)
            if outcome not in (Outcome.REDEEMED, Outcome.ALREADY_REDEEMED)
        ]
        if open_links:
            await asyncio.sleep(0.3)
    run.recovered_after = time.monotonic() - started
    assert not open_links, f"{len(open_links)} coupons without an answer: {run}"
    return run


def redeems_per_coupon(passkit: PassKitDouble) -> Counter[str]:
    return Counter(str(body.get("externalId", body.get("id"))) for body in passkit.redeem_bodies)


def report(name: str, run: Run, passkit: PassKitDouble) -> None:
    """The run's figures, shown with `pytest -s`."""
    seconds = sum(count - 1 for count in redeems_per_coupon(passkit).values())
    print(  # the figures quoted in docs/reliability.md
        f"\n{name}: first taps {dict(run.during)}; again {dict(run.retries)}; every coupon "
        f"answered {run.recovered_after:.1f} s after the first taps; second redeems {seconds}"
    )


async def test_a_sentinel_failover_mid_run_redeems_no_coupon_twice(
    sentinel_nodes: RedisSentinelNodes,
    make_settings: Callable[..., Settings],
    passkit: PassKitDouble,
    redis: Redis,
) -> None:
    """SENTINEL FAILOVER while 80 coupons are tapped: taps during the switch are refused as
    unavailable (a claim no replica acknowledged never redeems), every coupon is redeemed
    exactly once, and taps after the switch are answered without a restart."""
    passkit.accept_repeats = True
    passkit.latency = 0.05
    settings = make_settings(redis_url=sentinel_nodes.url, **FAST)
    async with serving(create_app(settings)) as services:
        run = await run_through(
            services.redemptions, passkit, lambda: asyncio.to_thread(sentinel_nodes.failover)
        )
    report("sentinel failover", run, passkit)
    assert set(redeems_per_coupon(passkit).values()) == {1}
    assert len(redeems_per_coupon(passkit)) == COUPONS
    assert set(passkit.applied.values()) == {1}


async def test_a_cluster_node_restarting_empty_mid_run_redeems_no_coupon_twice(
    cluster_nodes: RedisClusterNodes,
    make_settings: Callable[..., Settings],
    passkit: PassKitDouble,
    redis: Redis,
) -> None:
    """A Cluster node killed and started again without its data while 80 coupons are tapped:
    taps meanwhile are refused, the service sees the node's new run id and its slots' missing
    markers, waits out the longest lease and reads back; every coupon is redeemed once."""
    passkit.accept_repeats = True
    passkit.latency = 0.05
    settings = make_settings(redis_url=cluster_nodes.url, **FAST)
    async with serving(create_app(settings)) as services:
        run = await run_through(
            services.redemptions, passkit, lambda: asyncio.to_thread(cluster_nodes.restart, 0)
        )
    report("cluster node restart", run, passkit)
    assert set(redeems_per_coupon(passkit).values()) == {1}
    assert len(redeems_per_coupon(passkit)) == COUPONS
    assert set(passkit.applied.values()) == {1}


@pytest.fixture
def redis_url(request: pytest.FixtureRequest) -> str:
    """The test's own topology, by its name (the other one is not started for it)."""
    name = "sentinel" if "sentinel" in request.node.name else "cluster"
    return str(request.getfixturevalue(f"{name}_nodes").url)
