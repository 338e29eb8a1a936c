"""Rate limits in Redis, so they hold across replicas: misses per client, requests per coupon.

Per client: a budget of misses (requests that found no coupon, failed a signature, or were
refused), counted with the `limits` library's sliding-window counter on the service's own Redis
pool. Members opening their own valid links never spend it, so a busy shop behind one NAT is
never throttled, while whoever walks through made-up ids is stopped within a few dozen tries.
Checking the budget is a read that runs alongside the claim; a miss is counted after the answer.

Per coupon: a fixed-window counter that the claim script itself increments (see store.py), so a
JSON redemption still costs two Redis round trips; `limits` would add a third. Previews, which
claim nothing, count through the preview's own script instead.

It shares the service's connections: its pool on one server or Sentinel's master, its client
on a Redis Cluster (`limits` has no option for that, see `SharedClusterStorage`).

A client is its network, not its exact address (`resolver.web.clients`): an IPv6 subscriber's
whole /64 shares one budget, and an IPv4-mapped address is its IPv4 address.
"""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING, Any

from limits import RateLimitItem, parse
from limits.aio.storage import RedisClusterStorage, RedisStorage
from limits.aio.strategies import SlidingWindowCounterRateLimiter
from redis.asyncio import RedisCluster

from resolver.domain.errors import RateLimited
from resolver.redemption.policy import CouponLimit
from resolver.storage.redis import call

if TYPE_CHECKING:
    from resolver.storage.topologies import Client

OFF = ("", "0", "off", "none")


def parse_limit(value: str) -> RateLimitItem | None:
    """`60/minute`, `10 per second`, … or off; raises ValueError on anything else."""
    if value.strip().lower() in OFF:
        return None
    return parse(value)


class MissBudget:
    """Each client network's budget of misses (None: unlimited)."""

    def __init__(self, redis: Client, limit: RateLimitItem | None) -> None:
        self._limit = limit
        storage: RedisStorage
        if isinstance(redis, RedisCluster):
            storage = SharedClusterStorage(redis)
        else:
            storage = RedisStorage(
                "async+redis://",
                implementation="redispy",
                # Share the service's pool; limits' stub types its options too narrowly.
                connection_pool=redis.connection_pool,  # type: ignore[arg-type]
            )
        self._limiter = SlidingWindowCounterRateLimiter(storage)

    async def check(self, client: str) -> None:
        """Raise RateLimited when `client` has spent its misses; spends nothing itself."""
        if self._limit is None:
            return
        if await call(self._limiter.test(self._limit, "miss", client)):
            return
        stats = await call(self._limiter.get_window_stats(self._limit, "miss", client))
        raise RateLimited(max(1, math.ceil(stats.reset_time - time.time())), scope="client")

    async def miss(self, client: str) -> None:
        """Spend one of `client`'s misses."""
        if self._limit is None:
            return
        await call(self._limiter.hit(self._limit, "miss", client))


class SharedClusterStorage(RedisClusterStorage):
    """`limits`' Cluster storage on the service's own Cluster client.

    Left to itself, the storage opens a second Cluster client from a URL, with its own
    connections to every node, that nothing can close: so its bridge is handed ours instead
    (the one place this module reaches into `limits`).
    """

    def __init__(self, client: RedisCluster) -> None:
        self._client = client
        super().__init__("async+redis+cluster://shared:0", implementation="redispy")

    def configure_bridge(self) -> None:
        bridge: Any = self.bridge
        bridge.storage = self._client
        bridge.connection_getter = lambda _readonly: self._client


def coupon_limit(value: str) -> CouponLimit:
    """The per-coupon limit a setting such as `20/minute` describes (count 0: off)."""
    item = parse_limit(value)
    return CouponLimit(item.amount, float(item.get_expiry())) if item else CouponLimit()
