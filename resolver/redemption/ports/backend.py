"""What the redemption use case needs from a coupon back end (`Provider`), which back end
serves a campaign (`Providers`), and the words of a back end's answers.

Adapters implement it: `resolver.providers` (PassKit, Passworks, …). A provider answers in the
resolver's own vocabulary (`resolver.domain`) and raises only
`resolver.domain.errors.UpstreamError` subclasses; it never retries a redeem and never decides
what an unclear answer means: that is the use case's job (claim → call → read back). What a
back end cannot do is declared in its `capabilities`, and the use case adapts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from resolver.domain.coupons import Coupon, Link, Offer
    from resolver.domain.redemptions import RedeemDetails


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
