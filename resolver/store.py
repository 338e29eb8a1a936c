"""Redis behind one object: the per-coupon claims (see `resolver.scripts` for the state machine),
form tokens, receipts and the offer cache.

Every key about one coupon link shares the Redis Cluster hash tag `{h}`, where `h` is a keyed
hash of (provider, campaignId, externalId): one Lua script can touch them all, and no raw id is
ever part of a key.
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
from typing import TYPE_CHECKING, Any, Literal, cast

from redis.exceptions import RedisError

from resolver import scripts
from resolver.domain.coupons import Link, Offer
from resolver.domain.errors import StoreUnavailable
from resolver.domain.redemptions import Redemption
from resolver.ratelimit import CouponLimit

if TYPE_CHECKING:
    from collections.abc import Awaitable

    from redis.asyncio import Redis

    from resolver.notifier import Notifier

CHANNEL = "rr:settled"
MEMORY = "rr:m"
NO_LIMIT = CouponLimit()

# Verification codes are read aloud and typed across a counter: no 0/O/Q/D, 1/I/L, 2/Z, 5/S, 8/B,
# 6/G or U/V to confuse.
CODE_ALPHABET = "ACEFHJKMNPRTWXY3479"
CODE_LENGTH = 4

# A settled state is kept at least this long so that waiters woken by its notification can
# still read it, even when the configured window is zero.
MIN_STATE_TTL_MS = 2_000
LINK_SEPARATOR = "\x1f"


class ClaimKind(enum.StrEnum):
    """What a claim found."""

    CLAIMED = "claimed"  # ours: call the upstream
    RECONCILE = "reconcile"  # ours, but an earlier attempt may have been applied: read back first
    FORGOTTEN = "forgotten"  # ours, but Redis lost its memory lately: read back first if possible
    BUSY = "busy"  # another attempt is in flight: wait for it
    QUARANTINE = "quarantine"  # Redis just lost its memory; attempts begun before may still land
    DONE = "done"  # settled within the window: answer from it
    BAD_TOKEN = "bad_token"  # noqa: S105  # a state name, not a secret; the form token is unknown, expired or for another link
    LIMITED = "limited"  # too many requests for this coupon: retry later
    USED_TOKEN = "used_token"  # noqa: S105  # a state name; the form token was used and there is no result to show


class Settled(enum.IntEnum):
    """How a settle ended."""

    LOST = 0  # another owner holds the claim now: nothing was written
    OWNED = 1  # written over our own claim
    RECORDED = 2  # the claim was gone (Redis forgot it): the outcome was written anyway


@dataclass(frozen=True, slots=True)
class Claim:
    """The answer of the claim script."""

    kind: ClaimKind
    nonce: str = ""  # our attempt's (CLAIMED, RECONCILE, FORGOTTEN), the one in flight or settled
    since: datetime | None = None  # when the attempt to reconcile (or ours) started
    result: Redemption | None = None  # DONE
    mine: bool = False  # DONE, BUSY: the attempt is this very request's (the same identity)
    wait: float = 0.0  # BUSY: seconds left of the owner's lease; LIMITED, QUARANTINE: to wait
    coupon_id: str = ""  # from the form token: the coupon the member saw
    offer_id: str = ""


HeldState = Literal["none", "claimed", "done", "unknown"]


@dataclass(frozen=True, slots=True)
class Held:
    """What Redis holds about a link, as a preview reads it (`Store.peek`)."""

    state: HeldState
    nonce: str = ""
    since: datetime | None = None
    result: Redemption | None = None
    coupon_id: str = ""
    lease_left: float = 0.0

    @property
    def doubt(self) -> bool:
        """An attempt may have been applied and nobody settled it: unknown, or a dead owner."""
        return self.state == "unknown" or (self.state == "claimed" and self.lease_left <= 0)


@dataclass(frozen=True, slots=True)
class Attempt:
    """One attempt as its receipt page sees it (`Store.attempt`)."""

    state: Literal["done", "in_flight", "doubt", "gone"]
    result: Redemption | None = None
    lease_left: float = 0.0
    since: datetime | None = None
    link: Link | None = None  # in flight or in doubt: the link (a doubt is read back)


@dataclass(frozen=True, slots=True)
class FormToken:
    """What a confirm form's one-time token was minted for."""

    coupon_id: str
    offer_id: str
    used: bool


def receipt_id(key: str, nonce: str) -> str:
    return f"{key}-{nonce}"


def split_receipt(receipt: str) -> tuple[str, str]:
    key, _, nonce = receipt.partition("-")
    return key, nonce


def new_nonce() -> str:
    return base64.b32encode(secrets.token_bytes(10)).decode().lower()


def _ms(seconds: float) -> int:
    return int(seconds * 1000)


def _time(ms: str) -> datetime | None:
    return datetime.fromtimestamp(int(ms) / 1000, UTC) if ms and ms.lstrip("-").isdigit() else None


def _link(text: str) -> Link | None:
    campaign, sep, external = text.partition(LINK_SEPARATOR)
    return Link(campaign, external) if sep else None


def _result(raw: str | None) -> Redemption | None:
    return Redemption.from_dict(json.loads(raw)) if raw else None


class Store:
    """Everything the resolver keeps in Redis."""

    def __init__(self, redis: Redis, secret: bytes, notifier: Notifier | None = None) -> None:
        self.redis = redis
        # BLAKE2b takes keys of at most 64 bytes; a configured secret may be any length.
        self._secret = hashlib.sha256(secret).digest() if len(secret) > 64 else secret
        self._notifier = notifier
        self._claim = redis.register_script(scripts.CLAIM)
        self._settle = redis.register_script(scripts.SETTLE)
        self._renew = redis.register_script(scripts.RENEW)
        self._resolve = redis.register_script(scripts.RESOLVE)
        self._peek = redis.register_script(scripts.PEEK)
        self._attempt = redis.register_script(scripts.ATTEMPT)
        self._forgot = redis.register_script(scripts.FORGOT)

    def key(self, provider: str, link: Link) -> str:
        """The keyed hash naming a link in Redis and in logs: 16 characters, no raw id."""
        return self._hash(f"{provider}\x1f{link.campaign_id}\x1f{link.external_id}", b"")

    def identity(self, kind: str, value: str) -> str:
        """Who asks, as kept beside a result: a keyed hash of a form token or Idempotency-Key."""
        return self._hash(f"{kind}\x1f{value}", b"resolver-ask")

    def memory_key(self, key: str) -> str:
        """The marker saying since when Redis remembers the link `key`'s state."""
        return MEMORY

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
        link: Link,
        form_token: str | None = None,
        expected_coupon: str = "",
        limit: CouponLimit = NO_LIMIT,
        count: bool = True,
        who: str = "",
        quarantine: float = 0.0,
        forgetful: float = 0.0,
    ) -> Claim:
        """Claim the link for one attempt (see `resolver.scripts` for what each answer means).

        `count` charges the request to the coupon's `limit` (once per request, not for every
        re-check while waiting); `who` names the request, so that only it gets its own result
        back as a result; `quarantine` and `forgetful` are how long, after Redis lost its
        memory, claims wait and then read back first.
        """
        keys = [f"rr:{{{key}}}", f"rr:{{{key}}}:n", self.memory_key(key)]
        if form_token is not None:
            keys.append(f"rr:{{{key}}}:f:{form_token}")
        args: list[str | int] = [
            token,
            _ms(lease),
            nonce,
            _ms(hold),
            expected_coupon,
            limit.count,
            _ms(limit.window),
            1 if count else 0,
            who,
            _ms(quarantine),
            _ms(forgetful),
            f"{link.campaign_id}{LINK_SEPARATOR}{link.external_id}",
        ]
        reply: list[str] = await self._call(self._claim(keys=keys, args=args))
        kind = ClaimKind(reply[0])
        if kind in (ClaimKind.LIMITED, ClaimKind.QUARANTINE):
            return Claim(kind, wait=int(reply[1]) / 1000)
        if kind in (ClaimKind.BAD_TOKEN, ClaimKind.USED_TOKEN):
            return Claim(kind)
        coupon_id, _, offer_id = reply[3].partition(" ")
        common: dict[str, Any] = {"nonce": reply[1], "coupon_id": coupon_id, "offer_id": offer_id}
        if kind is ClaimKind.DONE:
            return Claim(kind, result=_result(reply[2]), mine=reply[4] == "1", **common)
        if kind is ClaimKind.BUSY:
            return Claim(kind, wait=int(reply[2]) / 1000, mine=reply[4] == "1", **common)
        return Claim(kind, since=_time(reply[2]), **common)

    async def settle(
        self,
        key: str,
        *,
        token: str,
        nonce: str,
        since: datetime,
        link: Link,
        who: str,
        mode: Literal["done", "unknown", "release"],
        result: Redemption,
        keep: float,
        receipt_ttl: float,
    ) -> Settled:
        """Record how our attempt ended, unless a newer owner holds the claim."""
        keys = [f"rr:{{{key}}}", f"rr:{{{key}}}:r:{nonce}", f"rr:{{{key}}}:n"]
        args: list[str | int] = [
            token,
            mode,
            json.dumps(result.to_dict(), separators=(",", ":")),
            result.coupon_id or "",
            max(_ms(keep), MIN_STATE_TTL_MS),
            _ms(receipt_ttl),
            CHANNEL,
            nonce,
            int(since.timestamp() * 1000),
            f"{link.campaign_id}{LINK_SEPARATOR}{link.external_id}",
            who,
        ]
        return Settled(int(await self._call(self._settle(keys=keys, args=args))))

    async def renew(self, key: str, *, token: str, lease: float) -> bool:
        """Extend our claim's lease; False when we no longer hold it."""
        args: list[str | int] = [token, _ms(lease)]
        return bool(await self._call(self._renew(keys=[f"rr:{{{key}}}"], args=args)))

    async def resolve(
        self,
        key: str,
        *,
        nonce: str,
        mode: Literal["done", "unknown"],
        result: Redemption,
        keep: float,
        receipt_ttl: float,
    ) -> bool:
        """Settle the doubt left by attempt `nonce` from a read-back; False if it moved on."""
        keys = [f"rr:{{{key}}}", f"rr:{{{key}}}:r:{nonce}"]
        args: list[str | int] = [
            nonce,
            mode,
            json.dumps(result.to_dict(), separators=(",", ":")),
            result.coupon_id or "",
            max(_ms(keep), MIN_STATE_TTL_MS),
            _ms(receipt_ttl),
            CHANNEL,
        ]
        return bool(await self._call(self._resolve(keys=keys, args=args)))

    async def peek(self, key: str, limit: CouponLimit = NO_LIMIT) -> Held | float:
        """Count a preview of the link and say what Redis holds; seconds to wait when limited."""
        keys = [f"rr:{{{key}}}", f"rr:{{{key}}}:n", self.memory_key(key)]
        args: list[str | int] = [limit.count, _ms(limit.window)]
        reply: list[str] = await self._call(self._peek(keys=keys, args=args))
        if reply[0] == "limited":
            return int(reply[1]) / 1000
        if reply[0] == "none":
            return Held("none")
        state, nonce, since, raw, coupon_id, left = reply
        assert state in ("claimed", "done", "unknown")
        return Held(
            cast("HeldState", state), nonce, _time(since), _result(raw), coupon_id, int(left) / 1000
        )

    async def attempt(self, key: str, nonce: str) -> Attempt:
        """Attempt `nonce`'s result, or whether it is in flight, in doubt or gone."""
        keys = [f"rr:{{{key}}}", f"rr:{{{key}}}:r:{nonce}"]
        reply: list[str] = await self._call(self._attempt(keys=keys, args=[nonce]))
        if reply[0] == "done":
            return Attempt("done", result=_result(reply[1]))
        if reply[0] == "in_flight":
            return Attempt("in_flight", lease_left=int(reply[1]) / 1000, link=_link(reply[2]))
        if reply[0] == "doubt":
            return Attempt("doubt", since=_time(reply[1]), link=_link(reply[2]))
        return Attempt("gone")

    async def mint_form_token(self, key: str, coupon_id: str, offer_id: str, ttl: float) -> str:
        """A one-time token for the confirm form, bound to this link and the coupon shown."""
        token = secrets.token_urlsafe(16)
        await self._call(
            self.redis.set(f"rr:{{{key}}}:f:{token}", f"{coupon_id} {offer_id}", px=_ms(ttl))
        )
        return token

    async def form_token(self, key: str, token: str) -> FormToken | None:
        """What the confirm form's token was minted for, or None when it is unknown or expired."""
        raw: str | None = await self._call(self.redis.get(f"rr:{{{key}}}:f:{token}"))
        if raw is None:
            return None
        used = raw.startswith("u:")
        coupon_id, _, offer_id = raw.removeprefix("u:").partition(" ")
        return FormToken(coupon_id, offer_id, used)

    async def cached_offer(self, provider: str, offer_id: str) -> Offer | None:
        raw = await self._call(self.redis.get(f"rr:offer:{provider}:{offer_id}"))
        return Offer.from_dict(json.loads(raw)) if raw else None

    async def cache_offer(self, provider: str, offer: Offer, ttl: float) -> None:
        if ttl > 0:
            payload = json.dumps(offer.to_dict(), separators=(",", ":"))
            await self._call(
                self.redis.set(f"rr:offer:{provider}:{offer.id}", payload, px=_ms(ttl))
            )

    async def wait(self, key: str, at_most: float) -> None:
        """Pause until the link's state settles (announced by pub/sub) or `at_most` passes."""
        if self._notifier is None:
            await asyncio.sleep(at_most)
        else:
            await self._notifier.wait(f"rr:{{{key}}}", at_most)

    async def forgot(self) -> None:
        """Redis may have lost what it held (its server restarted or failed over): from now on,
        claims wait out the longest lease and read back first, as after a flush."""
        await self._call(self._forgot(keys=[MEMORY]))

    async def ping(self) -> None:
        await self._call(self.redis.ping())

    def _hash(self, text: str, person: bytes) -> str:
        digest = hashlib.blake2b(
            text.encode(), key=self._secret, person=person, digest_size=10
        ).digest()
        return base64.b32encode(digest).decode().lower()

    async def _call(self, awaitable: Awaitable[Any]) -> Any:
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
