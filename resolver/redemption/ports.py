"""The ports of the redemption use case: what it needs from a coupon back end (`Provider`) and
from the store that claims coupons (`ClaimStore`), and the vocabulary of their answers.

Adapters implement them: `resolver.providers` the first (PassKit, Passworks, …), and
`resolver.storage.claims` the second (Redis, whose Lua scripts are the state machine drawn in
`resolver.storage.scripts`). The use case imports this module and the domain, nothing else.

A provider answers in the resolver's own vocabulary (`resolver.domain`) and raises only
`resolver.domain.errors.UpstreamError` subclasses; it never retries a redeem and never decides
what an unclear answer means: that is the use case's job (claim → call → read back). What a
back end cannot do is declared in its `capabilities`, and the use case adapts.
"""

from __future__ import annotations

import base64
import enum
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol

if TYPE_CHECKING:
    from datetime import datetime

    from resolver.domain.coupons import Coupon, Link, Offer
    from resolver.domain.redemptions import Attribution, RedeemDetails, Redemption
    from resolver.redemption.policy import CouponLimit


class Providers(Protocol):
    """Which back end serves a campaign (`resolver.providers.routing.Router`)."""

    def provider(self, campaign_id: str) -> Provider | None:
        """The campaign's back end, or None when this deployment does not serve it."""
        ...


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What a back end can do."""

    # lookup() asks the back end, which may say whether the coupon is redeemed (then the coupon
    # it returns has `use_known`), so an unclear redeem can be settled by reading it back.
    # Without it, lookup() asks nothing and reports UNREDEEMED when the coupon merely exists,
    # and an unclear redeem stays "could not be confirmed" rather than being tried again.
    read_back: bool = True
    # redeem() itself refuses a coupon that is used, expired or gone (PassKit's single-use rule).
    # When it does not (an update call that applies whatever it is sent), the use case looks
    # the coupon up first and redeems only what is redeemable: one more call per redemption.
    guards_redeem: bool = True
    # offer() describes what a coupon is for (title, terms, window).
    offers: bool = True
    # Seconds a success (or a doubt) must at least be remembered, when the back end cannot tell
    # it later: without read-back, the resolver's memory is all that stops a second redeem once
    # the duplicate window has passed. 0: the deployment's duplicate window is enough.
    remember: float = 0.0
    # Upstream calls one redeem may make (a token fetch and a read before the write count):
    # the claim's lease must outlast all of them and a read-back.
    redeem_calls: int = 1


@dataclass(frozen=True, slots=True)
class RedeemAnswer:
    """A clean success: the redeemed coupon's id, and the back end's reference if it gives one
    (e.g. the tracking id of a queued update), kept on the receipt."""

    coupon_id: str | None
    reference: str | None = None


class Provider(Protocol):
    """A coupon back end, e.g. PassKit."""

    @property
    def name(self) -> str:
        """Short stable name of the back end and account; part of every Redis key."""
        ...

    @property
    def capabilities(self) -> Capabilities: ...

    async def lookup(self, link: Link) -> Coupon | None:
        """The coupon that holds the link's external id now, or None when there is none."""
        ...

    async def offer(self, offer_id: str) -> Offer | None:
        """The offer a coupon belongs to, or None when it does not exist (or is unknowable)."""
        ...

    async def redeem(
        self, link: Link, details: RedeemDetails, *, coupon_id: str | None = None
    ) -> RedeemAnswer:
        """Mark the link's active coupon redeemed; returns only on a clean success.

        `coupon_id` is the coupon the member confirmed, when known: a back end that names
        coupons by id redeems exactly that one, so a coupon issued since under the same
        external id is never redeemed in its place (the redeem is refused instead).

        Raises `UpstreamUnreachable` only when the request certainly never left,
        `UpstreamNotApplied` (e.g. `UpstreamAuthError`) when the back end said it applied
        nothing, `CouponRefused` when it named why it refused the coupon, and another
        `UpstreamError` for every other failure: the caller must then read the coupon back.
        """
        ...


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
