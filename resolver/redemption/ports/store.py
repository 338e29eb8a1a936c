"""What the redemption use case needs from the store that claims coupons (`ClaimStore`), and
the words of its answers: what a claim found, how a settle went, what is held for a link.

`resolver.storage.claims` implements it on Redis, whose Lua scripts are the state machine drawn
in `resolver.storage.scripts`.
"""

from __future__ import annotations

import base64
import enum
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol

if TYPE_CHECKING:
    from datetime import datetime

    from resolver.domain.coupons import Link, Offer
    from resolver.domain.redemptions import Attribution, Redemption
    from resolver.redemption.policy import CouponLimit


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
    """What Redis holds about a link, as a preview reads it (`ClaimStore.peek`)."""

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
class AttemptState:
    """One attempt as its receipt page sees it (`ClaimStore.attempt`)."""

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


@dataclass(frozen=True, slots=True)
class AuditFacts:
    """What the audit trail records of a settled attempt beside its result and its link's key
    (`ClaimStore.settle`, `ClaimStore.resolve`): what only the use case and the web layer know."""

    at: datetime  # when it settled
    backend: str  # the provider's name
    code: str = ""  # the verification code the member's screen shows for its receipt
    staff: Attribution | None = None  # who verified it at the counter, when anybody did
    # It answered a repeat: the same request again (its retry), or a later request that
    # settled an earlier attempt's doubt.
    retry: bool = False
    replay: bool = False  # answered from the stored result, nothing asked of the back end


def receipt_id(key: str, nonce: str) -> str:
    return f"{key}-{nonce}"


def split_receipt(receipt: str) -> tuple[str, str]:
    key, _, nonce = receipt.partition("-")
    return key, nonce


def new_nonce() -> str:
    return base64.b32encode(secrets.token_bytes(10)).decode().lower()


class ClaimStore(Protocol):
    """Where claims live: the per-coupon state machine, form tokens, receipts, the offer cache.

    Every method raises `resolver.domain.errors.StoreUnavailable` when the store cannot be
    reached: duplicate protection is then impossible, and the use case redeems nothing.
    `key` is a coupon link's keyed name (`resolver.domain.names`), never a raw id.
    """

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
        limit: CouponLimit = ...,
        count: bool = True,
        who: str = "",
        quarantine: float = 0.0,
        forgetful: float = 0.0,
    ) -> Claim:
        """Claim the link for one attempt, or say why not (a `ClaimKind`)."""
        ...

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
        """Record how the attempt holding `token` ended, unless another owner holds the claim.

        With `audit`, the attempt also joins the audit trail, in the same round trip."""
        ...

    async def renew(self, key: str, *, token: str, lease: float) -> bool:
        """Extend the claim held with `token`; False when it is held no more."""
        ...

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
        """Settle the doubt left by attempt `nonce` from a read-back; False if it moved on.

        With `audit`, the settled doubt also joins the audit trail, in the same round trip."""
        ...

    async def peek(self, key: str, limit: CouponLimit = ...) -> Held | float:
        """Count a preview of the link; what is held, or the seconds to wait when limited."""
        ...

    async def attempt(self, key: str, nonce: str) -> AttemptState:
        """Attempt `nonce` as its receipt page sees it."""
        ...

    async def mint_form_token(self, key: str, coupon_id: str, offer_id: str, ttl: float) -> str:
        """A one-time token for the confirm form, bound to the link and the coupon shown."""
        ...

    async def form_token(self, key: str, token: str) -> FormToken | None:
        """What a confirm form's token was minted for; None when unknown or expired."""
        ...

    async def cached_offer(self, provider: str, offer_id: str) -> Offer | None: ...

    async def record_replay(self, key: str, result: Redemption, audit: AuditFacts) -> None:
        """Add an answer given from the stored result to the audit trail (one round trip).

        Never raises: the member's answer matters more than its record."""
        ...

    async def cache_offer(self, provider: str, offer: Offer, ttl: float) -> None: ...

    async def wait(self, key: str, at_most: float) -> None:
        """Pause until the link's state settles or `at_most` seconds pass."""
        ...
