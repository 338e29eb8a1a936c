"""The claim store on Redis: the per-coupon claims (see `resolver.storage.scripts` for the state
machine), form tokens, receipts and the offer cache.

Every key about one coupon link shares the Redis Cluster hash tag `{h}`, where `h` is a keyed
hash of (provider, campaignId, externalId): one Lua script can touch them all, and no raw id is
ever part of a key.
"""

from __future__ import annotations

import asyncio
import secrets
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal, cast

import orjson
import structlog
from redis.exceptions import NoScriptError

from resolver.domain.coupons import Link, Offer
from resolver.domain.errors import StoreUnavailable
from resolver.domain.redemptions import Redemption
from resolver.redemption.policy import CouponLimit
from resolver.redemption.ports import (
    AttemptState,
    AuditFacts,
    Claim,
    ClaimKind,
    FormToken,
    Held,
    HeldState,
    Settled,
)
from resolver.storage import scripts, topologies
from resolver.storage.audit import STREAM
from resolver.storage.redis import call, run_command, run_script, run_scripts

if TYPE_CHECKING:
    from redis.commands.core import AsyncScript

    from resolver.storage.audit import AuditTrail
    from resolver.storage.notifier import Wakeups
    from resolver.storage.topologies import Client

log = structlog.get_logger("resolver.storage")
CHANNEL = "rr:settled"
MEMORY = topologies.MEMORY
NO_LIMIT = CouponLimit()
# Claims that take a link for a redemption: the ones a replica must have before it is sent.
TAKING = (ClaimKind.CLAIMED, ClaimKind.RECONCILE, ClaimKind.FORGOTTEN)
# Markers are marked lost this many per round trip (a Cluster has one per slot).
MARKERS_PER_BATCH = 1_000


# A settled state is kept at least this long so that waiters woken by its notification can
# still read it, even when the configured window is zero.
MIN_STATE_TTL_MS = 2_000
LINK_SEPARATOR = "\x1f"


def _ms(seconds: float) -> int:
    return int(seconds * 1000)


def _time(ms: str) -> datetime | None:
    return datetime.fromtimestamp(int(ms) / 1000, UTC) if ms and ms.lstrip("-").isdigit() else None


def _link(text: str) -> Link | None:
    campaign, sep, external = text.partition(LINK_SEPARATOR)
    return Link(campaign, external) if sep else None


def _result(raw: str | None) -> Redemption | None:
    return Redemption.from_dict(orjson.loads(raw)) if raw else None


class RedisClaims:
    """The use case's `ClaimStore` on Redis: claims, results, receipts, form tokens, offers."""

    def __init__(
        self,
        redis: Client,
        notifier: Wakeups | None = None,
        audit: AuditTrail | None = None,
        *,
        replica_acks: int = 0,
        ack_timeout: float = 0.5,
    ) -> None:
        """`replica_acks` replicas must acknowledge a claim (`WAIT`, up to `ack_timeout`)
        before it may redeem: a claim only the master holds could be lost in a failover."""
        self.redis = redis
        self._notifier = notifier
        self._audit = audit
        self.cluster = topologies.is_cluster(redis)
        # In a Cluster every link is announced on its own sharded channel (''), so a settle
        # reaches only its shard's subscribers instead of every node.
        self._channel = "" if self.cluster else CHANNEL
        self._acks = replica_acks
        self._ack_timeout = ack_timeout
        self._unclaim = redis.register_script(scripts.UNCLAIM)
        self._claim = redis.register_script(scripts.CLAIM)
        self._settle = redis.register_script(scripts.SETTLE)
        self._renew = redis.register_script(scripts.RENEW)
        self._resolve = redis.register_script(scripts.RESOLVE)
        self._peek = redis.register_script(scripts.PEEK)
        self._attempt = redis.register_script(scripts.ATTEMPT)
        self._forgot = redis.register_script(scripts.FORGOT)

    def memory_key(self, key: str) -> str:
        """The marker saying since when Redis remembers the link `key`'s state."""
        return topologies.memory_marker(key, cluster=self.cluster)

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
        """Claim the link for one attempt (`resolver.storage.scripts` says what each answer means).

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
        reply = await self._claim_kept(keys, args, token)
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

    async def _claim_kept(self, keys: list[str], args: list[str | int], token: str) -> list[str]:
        """The claim script's reply, once as many replicas as required have the claim.

        The `WAIT` rides in the claim's own round trip. A claim that would redeem but that too
        few replicas acknowledged is given back (a doubt it took over stays a doubt) and the
        request is refused as `unavailable`: after a failover the new master would not know it.
        """
        if not self._acks:
            return cast("list[str]", await run_script(self.redis, self._claim, keys, args))
        wait: list[str | int] = ["WAIT", self._acks, _ms(self._ack_timeout)]
        reply, acked = await run_scripts(self.redis, [(self._claim, keys, args)], then=wait)
        answer = cast("list[str]", reply)
        if ClaimKind(answer[0]) in TAKING and int(cast("int", acked)) < self._acks:
            form = keys[3:]  # the confirm form's token, when the claim used one
            await run_script(self.redis, self._unclaim, [*keys[:2], *form], [token, answer[0]])
            raise StoreUnavailable("Redis: no replica acknowledged the claim in time")
        return answer

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
        audit: AuditFacts | None = None,
    ) -> Settled:
        """Record how our attempt ended, unless a newer owner holds the claim (and, with
        `audit`, add it to the audit trail in the same round trip)."""
        keys = [f"rr:{{{key}}}", f"rr:{{{key}}}:r:{nonce}", f"rr:{{{key}}}:n"]
        args: list[str | int] = [
            token,
            mode,
            orjson.dumps(result.to_dict()).decode(),
            result.coupon_id or "",
            max(_ms(keep), MIN_STATE_TTL_MS),
            _ms(receipt_ttl),
            self._channel,
            nonce,
            int(since.timestamp() * 1000),
            f"{link.campaign_id}{LINK_SEPARATOR}{link.external_id}",
            who,
        ]
        return Settled(
            int(await self._run(self._settle, keys, args, key=key, result=result, audit=audit))
        )

    async def renew(self, key: str, *, token: str, lease: float) -> bool:
        """Extend our claim's lease; False when we no longer hold it."""
        args: list[str | int] = [token, _ms(lease)]
        return bool(await run_script(self.redis, self._renew, [f"rr:{{{key}}}"], args))

    async def resolve(
        self,
        key: str,
        *,
        nonce: str,
        mode: Literal["done", "unknown"],
        result: Redemption,
        keep: float,
        receipt_ttl: float,
        audit: AuditFacts | None = None,
    ) -> bool:
        """Settle the doubt left by attempt `nonce` from a read-back; False if it moved on."""
        keys = [f"rr:{{{key}}}", f"rr:{{{key}}}:r:{nonce}"]
        args: list[str | int] = [
            nonce,
            mode,
            orjson.dumps(result.to_dict()).decode(),
            result.coupon_id or "",
            max(_ms(keep), MIN_STATE_TTL_MS),
            _ms(receipt_ttl),
            self._channel,
        ]
        return bool(await self._run(self._resolve, keys, args, key=key, result=result, audit=audit))

    async def _run(
        self,
        script: AsyncScript,
        keys: list[str],
        args: list[str | int],
        *,
        key: str,
        result: Redemption,
        audit: AuditFacts | None,
    ) -> int:
        """Run a settling script and append the audit entry, in one round trip.

        Outside a Cluster the script appends it itself (one command, written with the settle).
        In a Cluster the stream lives in a slot of its own, so its XADD follows the script in
        a pipeline; the script goes by EVALSHA alone, since a pipeline handed the script object
        would first ask Redis whether it knows the script, a round trip of its own. When Redis
        does not (it restarted), the script runs again by itself, which loads it; the entry is
        written once either way.
        """
        if audit is None or self._audit is None:
            return int(await run_script(self.redis, script, keys, args))
        fields = self._audit.fields(key, result, audit)
        if not self.cluster:
            entry = self._audit.script_args(fields)
            answer = int(await run_script(self.redis, script, [*keys, STREAM], [*args, *entry]))
            if answer >= scripts.AUDIT_FAILED:  # the member's answer matters more than its record
                log.error("audit_failed", error="ResponseError")
                answer -= scripts.AUDIT_FAILED
            return answer
        pipe = self.redis.pipeline(transaction=False)
        # By hand: redis-py refuses `evalsha` in a Cluster's pipeline, not the raw command.
        pipe.execute_command("EVALSHA", script.sha, len(keys), *keys, *args)
        self._audit.queue(pipe, fields)
        settled, added = await call(pipe.execute(raise_on_error=False))
        if isinstance(added, Exception):  # the member's answer matters more than its record
            log.error("audit_failed", error=type(added).__name__)
        if isinstance(settled, NoScriptError):
            return int(await run_script(self.redis, script, keys, args))
        if isinstance(settled, Exception):
            await call(_raise(settled))
        return int(settled)

    async def peek(self, key: str, limit: CouponLimit = NO_LIMIT) -> Held | float:
        """Count a preview of the link and say what Redis holds; seconds to wait when limited."""
        keys = [f"rr:{{{key}}}", f"rr:{{{key}}}:n", self.memory_key(key)]
        args: list[str | int] = [limit.count, _ms(limit.window)]
        reply: list[str] = await run_script(self.redis, self._peek, keys, args)
        if reply[0] == "limited":
            return int(reply[1]) / 1000
        if reply[0] == "none":
            return Held("none")
        state, nonce, since, raw, coupon_id, left = reply
        assert state in ("claimed", "done", "unknown")
        return Held(
            cast("HeldState", state), nonce, _time(since), _result(raw), coupon_id, int(left) / 1000
        )

    async def attempt(self, key: str, nonce: str) -> AttemptState:
        """Attempt `nonce`'s result, or whether it is in flight, in doubt or gone."""
        keys = [f"rr:{{{key}}}", f"rr:{{{key}}}:r:{nonce}"]
        reply: list[str] = await run_script(self.redis, self._attempt, keys, [nonce])
        if reply[0] == "done":
            return AttemptState("done", result=_result(reply[1]))
        if reply[0] == "in_flight":
            return AttemptState("in_flight", lease_left=int(reply[1]) / 1000, link=_link(reply[2]))
        if reply[0] == "doubt":
            return AttemptState("doubt", since=_time(reply[1]), link=_link(reply[2]))
        return AttemptState("gone")

    async def mint_form_token(self, key: str, coupon_id: str, offer_id: str, ttl: float) -> str:
        """A one-time token for the confirm form, bound to this link and the coupon shown."""
        token = secrets.token_urlsafe(16)
        bound = f"{coupon_id} {offer_id}"
        await run_command(self.redis, "SET", f"rr:{{{key}}}:f:{token}", bound, "PX", _ms(ttl))
        return token

    async def form_token(self, key: str, token: str) -> FormToken | None:
        """What the confirm form's token was minted for, or None when it is unknown or expired."""
        raw = await run_command(self.redis, "GET", f"rr:{{{key}}}:f:{token}")
        if not isinstance(raw, str):
            return None
        used = raw.startswith("u:")
        coupon_id, _, offer_id = raw.removeprefix("u:").partition(" ")
        return FormToken(coupon_id, offer_id, used)

    async def cached_offer(self, provider: str, offer_id: str) -> Offer | None:
        raw = await run_command(self.redis, "GET", f"rr:offer:{provider}:{offer_id}")
        return Offer.from_dict(orjson.loads(raw)) if raw else None

    async def record_replay(self, key: str, result: Redemption, audit: AuditFacts) -> None:
        """Add an answer given from the stored result to the audit trail (one XADD)."""
        if self._audit is None:
            return
        try:
            await self._audit.append(self._audit.fields(key, result, audit))
        except StoreUnavailable as error:  # the member's answer matters more than its record
            log.error("audit_failed", error=str(error))

    async def cache_offer(self, provider: str, offer: Offer, ttl: float) -> None:
        if ttl > 0:
            payload = orjson.dumps(offer.to_dict()).decode()
            key = f"rr:offer:{provider}:{offer.id}"
            await run_command(self.redis, "SET", key, payload, "PX", _ms(ttl))

    async def wait(self, key: str, at_most: float) -> None:
        """Pause until the link's state settles (announced by pub/sub) or `at_most` passes."""
        if self._notifier is None:
            await asyncio.sleep(at_most)
        else:
            await self._notifier.wait(f"rr:{{{key}}}", at_most)

    async def forgot(self) -> None:
        """Redis may have lost what it held (its server restarted or failed over): from now on,
        claims wait out the longest lease and read back first, as after a flush."""
        markers = topologies.memory_markers(cluster=self.cluster)
        for start in range(0, len(markers), MARKERS_PER_BATCH):
            batch = markers[start : start + MARKERS_PER_BATCH]
            await run_scripts(self.redis, [(self._forgot, [marker], []) for marker in batch])

    async def ping(self) -> None:
        await call(self.redis.ping())


async def _raise(error: Exception) -> None:
    """Raise a pipelined command's error where `call` translates it."""
    raise error
