"""Redis behind one object: the per-coupon redemption state machine, form tokens, receipts and
the offer cache.

Every key about one coupon link shares the Redis Cluster hash tag `{h}`, where `h` is a keyed
hash of (provider, campaignId, externalId): one Lua script can touch them all, and no raw id is
ever part of a key. The state hash `rr:{h}` moves through

    (none) --claim--> claimed --settle(done)--> done --expires--> (none)
                         |--settle(release)--> (none)        request never left: safe to retry
                         |--settle(unknown)--> unknown       outcome unknown: read back first
                         '--lease runs out---> (next claim must read back first)

Each transition is one script guarded by the claim token, so a worker whose lease ran out can
never overwrite a newer owner. See docs/architecture.md and docs/reliability.md.
"""

from __future__ import annotations

import asyncio
import base64
import enum
import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from redis.exceptions import RedisError

from resolver.exceptions import StoreUnavailable
from resolver.models import Link, Offer, Redemption
from resolver.ratelimit import CouponLimit

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from resolver.notifier import Notifier

CHANNEL = "rr:settled"

# A fixed-window counter per coupon link, shared by the claim script and previews.
COUNT = """
local function over_limit(counter, limit, window)
  if tonumber(limit) <= 0 then return false end
  local n = redis.call('INCR', counter)
  if redis.call('PTTL', counter) < 0 then redis.call('PEXPIRE', counter, window) end
  if n > tonumber(limit) then return redis.call('PTTL', counter) end
  return false
end
"""

HIT = (
    COUNT
    + """
-- KEYS[1] the coupon's request counter; ARGV limit, window ms
local wait = over_limit(KEYS[1], ARGV[1], ARGV[2])
if wait then return wait end
return -1
"""
)

CLAIM = (
    COUNT
    + """
-- KEYS[1] the coupon's state hash, KEYS[2] its request counter,
-- KEYS[3] (optional) the confirm form's one-time token
-- ARGV claim token, lease ms, nonce, hold ms, expected coupon id ('' = any), limit, window ms
local wait = over_limit(KEYS[2], ARGV[6], ARGV[7])
if wait then return {'limited', tostring(wait)} end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local expected, fresh, form = ARGV[5], true, nil
if #KEYS > 2 then
  form = redis.call('GET', KEYS[3])
  if not form then return {'bad_token'} end
  if string.sub(form, 1, 2) == 'u:' then fresh = false; form = string.sub(form, 3) end
  expected = string.match(form, '^[^ ]*')
end
local function use_form()
  if form and fresh then redis.call('SET', KEYS[3], 'u:' .. form, 'KEEPTTL') end
end
local function take(kind, since)
  use_form()
  redis.call('HSET', KEYS[1], 's', 'claimed', 't', ARGV[1], 'l', now + tonumber(ARGV[2]),
             'a', since, 'n', ARGV[3])
  redis.call('HDEL', KEYS[1], 'r', 'c')
  redis.call('PEXPIRE', KEYS[1], ARGV[4])
  return {kind, ARGV[3], tostring(since), form or ''}
end
local st = redis.call('HMGET', KEYS[1], 's', 'l', 'a', 'n', 'r', 'c')
if not st[1] then
  if not fresh then return {'used_token'} end
  return take('claimed', now)
end
if st[1] == 'done' then
  -- a result about another coupon (the link's coupon was reissued since) does not count
  if expected ~= '' and st[6] ~= expected then
    if not fresh then return {'used_token'} end
    return take('claimed', now)
  end
  use_form()
  return {'done', st[4], st[5], form or ''}
end
if st[1] == 'claimed' and tonumber(st[2]) > now then
  return {'busy', st[4], tostring(tonumber(st[2]) - now), form or ''}
end
-- the owner's lease ran out mid-call, or an earlier attempt ended in doubt: read back first
if not fresh then return {'used_token'} end
return take('reconcile', tonumber(st[3]) or now)
"""
)

SETTLE = """
-- KEYS[1] the coupon's state hash, KEYS[2] this attempt's receipt
-- ARGV claim token, mode (done | unknown | release), result, coupon id, state ttl ms,
--      receipt ttl ms (0: no receipt page will ask for it), channel
if tonumber(ARGV[6]) > 0 then redis.call('SET', KEYS[2], ARGV[3], 'PX', ARGV[6]) end
if redis.call('HGET', KEYS[1], 't') ~= ARGV[1] then return 0 end
if ARGV[2] == 'done' then
  redis.call('HSET', KEYS[1], 's', 'done', 'r', ARGV[3], 'c', ARGV[4])
  redis.call('PEXPIRE', KEYS[1], ARGV[5])
elseif ARGV[2] == 'unknown' then
  redis.call('HSET', KEYS[1], 's', 'unknown')
  redis.call('PEXPIRE', KEYS[1], ARGV[5])
else
  redis.call('DEL', KEYS[1])
end
redis.call('PUBLISH', ARGV[7], KEYS[1])
return 1
"""

NO_LIMIT = CouponLimit()

# Verification codes are read aloud and typed across a counter: no 0/O/Q/D, 1/I/L, 2/Z, 5/S, 8/B,
# 6/G or U/V to confuse.
CODE_ALPHABET = "ACEFHJKMNPRTWXY3479"
CODE_LENGTH = 4

# A settled state is kept at least this long so that waiters woken by its notification can
# still read it, even when the configured window is zero.
MIN_STATE_TTL_MS = 2_000


class ClaimKind(enum.StrEnum):
    """What a claim found."""

    CLAIMED = "claimed"  # ours: call the upstream
    RECONCILE = "reconcile"  # ours, but an earlier attempt may have been applied: read back first
    BUSY = "busy"  # another attempt is in flight: wait for it
    DONE = "done"  # settled within the window: replay it
    BAD_TOKEN = "bad_token"  # noqa: S105  # a state name, not a secret; the form token is unknown, expired or for another link
    LIMITED = "limited"  # too many requests for this coupon: retry later
    USED_TOKEN = "used_token"  # noqa: S105  # a state name; the form token was used and there is no result to show


@dataclass(frozen=True, slots=True)
class Claim:
    """The answer of the claim script."""

    kind: ClaimKind
    nonce: str = ""  # our attempt's (CLAIMED, RECONCILE), the one in flight (BUSY) or settled
    since: datetime | None = None  # when the attempt to reconcile (or ours) started
    result: Redemption | None = None  # DONE
    lease_left: float = 0.0  # BUSY: seconds until the owner's lease runs out; LIMITED: to wait
    coupon_id: str = ""  # from the form token: the coupon the member saw
    offer_id: str = ""


def receipt_id(key: str, nonce: str) -> str:
    return f"{key}-{nonce}"


def split_receipt(receipt: str) -> tuple[str, str]:
    key, _, nonce = receipt.partition("-")
    return key, nonce


def new_nonce() -> str:
    return base64.b32encode(secrets.token_bytes(10)).decode().lower()


class Store:
    """Everything the resolver keeps in Redis."""

    def __init__(self, redis: Redis, secret: bytes, notifier: Notifier | None = None) -> None:
        self.redis = redis
        # BLAKE2b takes keys of at most 64 bytes; a configured secret may be any length.
        self._secret = hashlib.sha256(secret).digest() if len(secret) > 64 else secret
        self._notifier = notifier
        self._claim = redis.register_script(CLAIM)
        self._hit = redis.register_script(HIT)
        self._settle = redis.register_script(SETTLE)

    def key(self, provider: str, link: Link) -> str:
        """The keyed hash naming a link in Redis and in logs: 16 characters, no raw id."""
        digest = hashlib.blake2b(
            f"{provider}\x1f{link.campaign_id}\x1f{link.external_id}".encode(),
            key=self._secret,
            digest_size=10,
        ).digest()
        return base64.b32encode(digest).decode().lower()

    def verification_code(self, receipt: str) -> str:
        """A short code for a receipt: the same on every reload, not computable without the secret.

        A keyed hash of the receipt id (domain-separated from `key`'s), read as
        `CODE_LENGTH` letters of `CODE_ALPHABET`.
        """
        digest = hashlib.blake2b(
            receipt.encode(), key=self._secret, person=b"resolver-verify", digest_size=16
        ).digest()
        number = int.from_bytes(digest)
        letters = []
        for _ in range(CODE_LENGTH):
            number, index = divmod(number, len(CODE_ALPHABET))
            letters.append(CODE_ALPHABET[index])
        return "".join(letters)

    async def claim(
        self,
        key: str,
        *,
        token: str,
        nonce: str,
        lease: float,
        hold: float,
        form_token: str | None = None,
        expected_coupon: str = "",
        limit: CouponLimit = NO_LIMIT,
    ) -> Claim:
        keys = [f"rr:{{{key}}}", f"rr:{{{key}}}:n"]
        if form_token is not None:
            keys.append(f"rr:{{{key}}}:f:{form_token}")
        args: list[str | int] = [
            token,
            int(lease * 1000),
            nonce,
            int(hold * 1000),
            expected_coupon,
            limit.count,
            int(limit.window * 1000),
        ]
        reply = await self._call(self._claim(keys=keys, args=args))
        kind = ClaimKind(reply[0])
        if kind is ClaimKind.LIMITED:
            return Claim(kind, lease_left=int(reply[1]) / 1000)
        if kind in (ClaimKind.BAD_TOKEN, ClaimKind.USED_TOKEN):
            return Claim(kind)
        coupon_id, _, offer_id = reply[3].partition(" ")
        common: dict[str, Any] = {"nonce": reply[1], "coupon_id": coupon_id, "offer_id": offer_id}
        if kind is ClaimKind.DONE:
            result = Redemption.from_dict(json.loads(reply[2]))
            return Claim(kind, result=result, **common)
        if kind is ClaimKind.BUSY:
            return Claim(kind, lease_left=int(reply[2]) / 1000, **common)
        since = datetime.fromtimestamp(int(reply[2]) / 1000, UTC)
        return Claim(kind, since=since, **common)

    async def settle(
        self,
        key: str,
        *,
        token: str,
        nonce: str,
        mode: Literal["done", "unknown", "release"],
        result: Redemption,
        keep: float,
        receipt_ttl: float,
    ) -> bool:
        """Record how our attempt ended; False when our claim had already been taken over."""
        keys = [f"rr:{{{key}}}", f"rr:{{{key}}}:r:{nonce}"]
        args: list[str | int] = [
            token,
            mode,
            json.dumps(result.to_dict(), separators=(",", ":")),
            result.coupon_id or "",
            max(int(keep * 1000), MIN_STATE_TTL_MS),
            int(receipt_ttl * 1000),
            CHANNEL,
        ]
        return bool(await self._call(self._settle(keys=keys, args=args)))

    async def hit(self, key: str, limit: CouponLimit) -> float | None:
        """Count a request for the link; seconds to wait when over `limit`, else None."""
        if limit.count <= 0:
            return None
        wait = await self._call(
            self._hit(keys=[f"rr:{{{key}}}:n"], args=[limit.count, int(limit.window * 1000)])
        )
        return int(wait) / 1000 if int(wait) >= 0 else None

    async def receipt(self, key: str, nonce: str) -> Redemption | None:
        """Attempt `nonce`'s result: its receipt, or the link's settled state while it lasts.

        Only the member's flow keeps receipts; a result replayed to a member from an API call
        is still shown from the state for as long as the window keeps it.
        """
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.get(f"rr:{{{key}}}:r:{nonce}")
            pipe.hmget(f"rr:{{{key}}}", "s", "n", "r")
            raw, (state, current, result) = await self._call(pipe.execute())
        if not raw and state == "done" and current == nonce:
            raw = result
        return Redemption.from_dict(json.loads(raw)) if raw else None

    async def in_flight(self, key: str, nonce: str) -> bool:
        """True while attempt `nonce` holds the link's claim (its receipt is not yet written)."""
        state, current = await self._call(self.redis.hmget(f"rr:{{{key}}}", "s", "n"))
        return bool(state == "claimed" and current == nonce)

    async def mint_form_token(self, key: str, coupon_id: str, offer_id: str, ttl: float) -> str:
        """A one-time token for the confirm form, bound to this link and the coupon shown."""
        token = secrets.token_urlsafe(16)
        await self._call(
            self.redis.set(f"rr:{{{key}}}:f:{token}", f"{coupon_id} {offer_id}", px=int(ttl * 1000))
        )
        return token

    async def cached_offer(self, provider: str, offer_id: str) -> Offer | None:
        raw = await self._call(self.redis.get(f"rr:offer:{provider}:{offer_id}"))
        return Offer.from_dict(json.loads(raw)) if raw else None

    async def cache_offer(self, provider: str, offer: Offer, ttl: float) -> None:
        if ttl > 0:
            payload = json.dumps(offer.to_dict(), separators=(",", ":"))
            await self._call(
                self.redis.set(f"rr:offer:{provider}:{offer.id}", payload, px=int(ttl * 1000))
            )

    async def wait(self, key: str, at_most: float) -> None:
        """Pause until the link's state settles (announced by pub/sub) or `at_most` passes."""
        if self._notifier is None:
            await asyncio.sleep(at_most)
        else:
            await self._notifier.wait(f"rr:{{{key}}}", at_most)

    async def ping(self) -> None:
        await self._call(self.redis.ping())

    async def _call(self, awaitable: Any) -> Any:
        try:
            return await awaitable
        except RedisError as error:
            raise StoreUnavailable(f"Redis: {type(error).__name__}") from error


async def shared_secret(redis: Redis) -> bytes:
    """The deployment's hashing secret when none is configured: created once, shared by replicas.

    Every replica must derive the same keys, so a per-process random value would break
    exactly-once across workers; the first process to start stores one in Redis.
    """
    await redis.set("rr:secret", secrets.token_hex(32), nx=True)
    value = await redis.get("rr:secret")
    if not value:
        raise StoreUnavailable("Redis did not keep rr:secret (is it evicting keys?)")
    return str(value).encode()
