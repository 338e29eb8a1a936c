"""Rate limits in Redis, so they hold across replicas: per client IP and per coupon link.

Per client IP: the `limits` library's sliding-window counter on the service's own Redis pool.
Per coupon: a fixed-window counter that the claim script itself increments (see store.py), so a
JSON redemption still costs two Redis round trips; `limits` would add a third. Previews, which
claim nothing, count through `Store.hit` instead.

A client is its network, not its exact address (`resolver.web.clients`): an IPv6 subscriber's
whole /64 shares one budget, and an IPv4-mapped address is its IPv4 address.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from limits import RateLimitItem, parse
from limits.aio.storage import RedisStorage
from limits.aio.strategies import SlidingWindowCounterRateLimiter
from redis.exceptions import RedisError

from resolver.exceptions import RateLimited, StoreUnavailable
from resolver.web.clients import client_network

if TYPE_CHECKING:
    from redis.asyncio import Redis
    from starlette.requests import Request

OFF = ("", "0", "off", "none")


def parse_limit(value: str) -> RateLimitItem | None:
    """`60/minute`, `10 per second`, … or off; raises ValueError on anything else."""
    if value.strip().lower() in OFF:
        return None
    return parse(value)


@dataclass(frozen=True, slots=True)
class CouponLimit:
    """A fixed window the claim script enforces per coupon link (count 0: off)."""

    count: int = 0
    window: float = 60.0

    @classmethod
    def from_item(cls, item: RateLimitItem | None) -> CouponLimit:
        return cls(item.amount, float(item.get_expiry())) if item else cls()


class ClientLimiter:
    """The per-client limit (None: unlimited)."""

    def __init__(self, redis: Redis, limit: RateLimitItem | None) -> None:
        self._limit = limit
        storage = RedisStorage(
            "async+redis://",
            implementation="redispy",
            # Share the service's pool; limits' stub types its options too narrowly.
            connection_pool=redis.connection_pool,  # type: ignore[arg-type]
        )
        self._limiter = SlidingWindowCounterRateLimiter(storage)

    async def check(self, request: Request) -> None:
        """Count this request against its client's network; raise RateLimited past the limit."""
        if self._limit is None:
            return
        client = client_network(request)
        try:
            if await self._limiter.hit(self._limit, "ip", client):
                return
            stats = await self._limiter.get_window_stats(self._limit, "ip", client)
        except RedisError as error:
            raise StoreUnavailable(f"Redis: {type(error).__name__}") from error
        raise RateLimited(max(1, math.ceil(stats.reset_time - time.time())), scope="client")
