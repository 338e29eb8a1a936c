"""Many taps at once on real worker processes, with Redis Sentinel or a Redis Cluster."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tests.e2e.test_concurrency import taps_redeem_each_coupon_once
from tests.support.topologies import redis_url_on_replicated_topologies

if TYPE_CHECKING:
    from collections.abc import Callable

    from redis.asyncio import Redis
    from resolver_bench.processes import Child

    from tests.e2e.upstream import Upstream

__all__ = ["redis_url_on_replicated_topologies"]


async def test_200_concurrent_taps_redeem_each_coupon_once_on_every_topology(
    start_serve: Callable[..., Child], upstream: Upstream, redis: Redis
) -> None:
    """40 coupons x 5 taps on two workers sharing Sentinel's master or a Cluster: one redeem
    call per coupon, and every waiting duplicate woken (sharded pub/sub in the Cluster).

    `redis` empties the topology and marks it as remembering everything, as a deployment's
    first process does when it starts alone (two workers starting at once each see the other).
    """
    await taps_redeem_each_coupon_once(start_serve, upstream, workers=2)
