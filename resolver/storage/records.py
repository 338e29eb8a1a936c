"""What an operator may read and undo of one coupon link's record in Redis (`resolver coupon`).

Read-only but for `forget`, which drops the link's state (its stored result, or its doubt) after
the operator fixed the coupon by hand. It never drops a claim whose owner may still be calling
the back end: that attempt's settle would find nothing, and the next tap would redeem again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal, cast

from resolver.storage.redis import call, run_script
from resolver.storage.scripts import PRELUDE

if TYPE_CHECKING:
    from resolver.storage.topologies import Client

Forgotten = Literal["forgotten", "in_flight", "none"]

FORGET = (
    PRELUDE
    + """
-- KEYS[1] the state hash
local st = redis.call('HMGET', KEYS[1], 's', 'l')
if not st[1] then return 'none' end
if st[1] == 'claimed' and tonumber(st[2] or '0') > now_ms() then return 'in_flight' end
redis.call('DEL', KEYS[1])
return 'forgotten'
"""
)
# How many receipt keys one SCAN step looks at; the pattern names one link's hash tag.
SCAN_BATCH = 500


class Records:
    """One link's keys (`key` is its keyed name, as the claim store uses it)."""

    def __init__(self, redis: Client) -> None:
        self.redis = redis
        self._forget = redis.register_script(FORGET)

    async def kept_for(self, key: str) -> float | None:
        """Seconds Redis keeps the link's state still; None when it holds none."""
        left = int(await call(self.redis.pttl(f"rr:{{{key}}}")))
        return left / 1000 if left >= 0 else None

    async def receipts(self, key: str) -> int:
        """How many receipt pages of the link's attempts Redis still keeps."""
        return await call(self._count(f"rr:{{{key}}}:r:*"))

    async def _count(self, pattern: str) -> int:
        return len([found async for found in self.redis.scan_iter(pattern, count=SCAN_BATCH)])

    async def forget(self, key: str) -> Forgotten:
        """Drop the link's state, unless an attempt holds a live claim on it."""
        reply = await run_script(self.redis, self._forget, [f"rr:{{{key}}}"])
        return cast("Forgotten", str(reply))
