"""Wrong staff codes, counted in Redis per coupon link and per client, so lockouts hold across
replicas.

A try is *taken* before a code is checked and *given back* when the code was right, rather than
counted after a wrong one: checking first and counting after would let a hundred guesses sent at
once all be checked before any of them counted. So at most `limit` codes are ever checked per
period, however they arrive.

Each counter counts tries for `period` from the first one; the try that reaches the limit locks
for a full `period` from then. One counter per coupon link (`rr:{h}:v`, sharing the link's hash
tag like every other key of the link) and one per client (`rr:v:{c}`, `c` a keyed hash of the
client's name, its IPv4 address or IPv6 network as `resolver.web.clients` gives it: no raw
address in Redis). Each script touches one key, so both work on Redis Cluster.
"""

from __future__ import annotations

import base64
import hashlib
import math
from typing import TYPE_CHECKING, cast

from resolver.domain.errors import VerificationLocked
from resolver.staff.verification import Taken
from resolver.storage.redis import run_scripts

if TYPE_CHECKING:
    from resolver.storage.topologies import Client

TAKE = """
-- KEYS[1] a failure counter; ARGV limit, period ms
local limit, period = tonumber(ARGV[1]), tonumber(ARGV[2])
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
if n >= limit then
  local left = redis.call('PTTL', KEYS[1])
  if left < 0 then redis.call('PEXPIRE', KEYS[1], period); left = period end
  return {0, left}
end
n = redis.call('INCR', KEYS[1])
if n == 1 or n >= limit then redis.call('PEXPIRE', KEYS[1], period) end
return {1, limit - n}
"""

GIVE_BACK = """
-- KEYS[1] a failure counter whose try turned out not to be a failure
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
if n > 1 then redis.call('DECR', KEYS[1]) elseif n == 1 then redis.call('DEL', KEYS[1]) end
return 1
"""


class Lockout:
    """Failure counters for staff codes, per coupon link and per client."""

    def __init__(
        self, redis: Client, secret: bytes, *, per_coupon: int, per_client: int, period: float
    ) -> None:
        self.redis = redis
        self._secret = hashlib.sha256(secret).digest()
        self.per_coupon = per_coupon
        self.per_client = per_client
        self.period = period
        self._take = redis.register_script(TAKE)
        self._give_back = redis.register_script(GIVE_BACK)

    def client_key(self, client: str) -> str:
        digest = hashlib.blake2b(
            client.encode(), key=self._secret, person=b"resolver-client", digest_size=10
        ).digest()
        return f"rr:v:{{{base64.b32encode(digest).decode().lower()}}}"

    async def take(self, coupon: str, client: str) -> Taken:
        """Take a try for the coupon link (its hash) and the client; VerificationLocked when
        either has none left (a try taken on the other is given back)."""
        keys = (f"rr:{{{coupon}}}:v", self.client_key(client))
        period_ms = int(self.period * 1000)
        # One round trip; in a Cluster the two keys may live on two nodes.
        limits = (self.per_coupon, self.per_client)
        calls = [
            (self._take, [key], [limit, period_ms]) for key, limit in zip(keys, limits, strict=True)
        ]
        replies = await run_scripts(self.redis, calls)
        answers = cast("list[tuple[int, int]]", replies)
        locked = [int(wait) for taken, wait in answers if not taken]
        if locked:
            await self._undo([key for key, (taken, _) in zip(keys, answers, strict=True) if taken])
            raise VerificationLocked(max(1, math.ceil(max(locked) / 1000)))
        return Taken(keys, min(int(left) for _, left in answers))

    async def give_back(self, taken: Taken) -> None:
        """The code was right: the try was no failure."""
        await self._undo(list(taken.keys))

    async def _undo(self, keys: list[str]) -> None:
        if not keys:
            return
        await run_scripts(self.redis, [(self._give_back, [key], []) for key in keys])
