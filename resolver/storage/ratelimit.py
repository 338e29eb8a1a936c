"""Rate limits in Redis, so they hold across replicas: misses per client, requests per coupon.

Per client: a budget of misses (requests that found no coupon, failed a signature, or were
refused). Members opening their own valid links never spend it, so a busy shop behind one NAT is
never throttled, while whoever walks through made-up ids is stopped within a few dozen tries.
Checking the budget is one script that runs alongside the claim, and shares its write to Redis
when Redis is busy (`resolver.storage.writes`); a miss is counted after the answer.

The budget is a sliding window counter, `limits`' algorithm: a client's first miss opens its
window; when the window ends its count becomes the previous window's, which counts for the
part of it still inside the sliding window (its time left). It is run here rather than by
`limits`, whose check goes through redis-py's command machinery (a third of the CPU of a whole
redemption) and cannot share the claim's write; `limits` still parses the setting.

Per coupon: a fixed-window counter that the claim script itself increments (`claims`), so a
JSON redemption still costs two Redis round trips. Previews, which claim nothing, count through
the preview's own script instead.

A client is its network, not its exact address (`resolver.web.clients`): an IPv6 subscriber's
whole /64 shares one budget, and an IPv4-mapped address is its IPv4 address.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from limits import RateLimitItem, parse

from resolver.domain.errors import RateLimited
from resolver.redemption.policy import CouponLimit
from resolver.storage.redis import run_script

if TYPE_CHECKING:
    from resolver.storage.topologies import Client

# KEYS: the previous and the current window's counters; ARGV[1]: the window (ms). A current
# window that has ended (its counter lives two windows) becomes the previous one.
WINDOWS = """
local window = tonumber(ARGV[1])
local left = redis.call('PTTL', KEYS[2])
if left > 0 and left < window then
  redis.call('RENAME', KEYS[2], KEYS[1])
  redis.call('SET', KEYS[2], 0, 'PX', left + window)
  left = left + window
end
local previous = tonumber(redis.call('GET', KEYS[1]) or 0)
local previous_left = math.max(redis.call('PTTL', KEYS[1]), 0)
local current = tonumber(redis.call('GET', KEYS[2]) or 0)
local weighted = math.floor(previous * previous_left / window) + current
"""
# How many misses count now, and what the wait for the next one depends on.
COUNT = (
    WINDOWS
    + """
return {weighted, previous, previous_left, current, math.max(left, 0)}
"""
)
# One miss more, unless the budget is spent already (a refused request spends nothing).
SPEND = (
    WINDOWS
    + """
if weighted >= tonumber(ARGV[2]) then return 0 end
if redis.call('INCR', KEYS[2]) == 1 then redis.call('PEXPIRE', KEYS[2], 2 * window) end
return 1
"""
)

OFF = ("", "0", "off", "none")


def parse_limit(value: str) -> RateLimitItem | None:
    """`60/minute`, `10 per second`, … or off; raises ValueError on anything else."""
    if value.strip().lower() in OFF:
        return None
    return parse(value)


class MissBudget:
    """Each client network's budget of misses (None: unlimited)."""

    def __init__(self, redis: Client, limit: RateLimitItem | None) -> None:
        self._redis = redis
        self._amount = limit.amount if limit else None  # None: unlimited
        self._window = limit.get_expiry() * 1000 if limit else 0  # ms
        self._name = f"{limit.amount}/{limit.get_expiry()}" if limit else ""
        self._count = redis.register_script(COUNT)
        self._spend = redis.register_script(SPEND)

    async def check(self, client: str) -> None:
        """Raise RateLimited when `client` has spent its misses; spends nothing itself."""
        if self._amount is None:
            return
        counted = await run_script(self._redis, self._count, self._keys(client), [self._window])
        weighted, previous, previous_left, current, current_left = (int(n) for n in counted)
        amount, window = self._amount, self._window
        if weighted < amount:
            return
        if current < amount:  # the previous window's share shrinks below what is left
            wait = previous_left - (amount - current) * window / previous
        else:  # this window's misses must become the previous ones, and shrink in turn
            wait = current_left - amount * window / current
        raise RateLimited(math.floor(max(wait, 0) / 1000) + 1, scope="client")

    async def miss(self, client: str) -> None:
        """Spend one of `client`'s misses."""
        if self._amount is not None:
            args = [self._window, self._amount]
            await run_script(self._redis, self._spend, self._keys(client), args)

    def _keys(self, client: str) -> list[str]:
        """The previous and the current window's counters, in one Cluster slot per client,
        named by the limit (a changed setting starts afresh)."""
        current = f"rr:miss:{{{client}}}:{self._name}"
        return [f"{current}:previous", current]


def coupon_limit(value: str) -> CouponLimit:
    """The per-coupon limit a setting such as `20/minute` describes (count 0: off)."""
    item = parse_limit(value)
    return CouponLimit(item.amount, float(item.get_expiry())) if item else CouponLimit()
