"""The seam between the redemption use case and a coupon back end.

A provider answers three questions in the resolver's own vocabulary (`resolver.models`) and
raises only `resolver.exceptions.UpstreamError` subclasses; it never retries a redeem and never
decides what an unclear answer means: that is the use case's job (claim → call → read back).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from resolver.models import Coupon, Link, Offer, RedeemDetails


class Provider(Protocol):
    """A coupon back end, e.g. PassKit."""

    @property
    def name(self) -> str:
        """Short stable name; part of every Redis key, so changing it forgets in-flight state."""
        ...

    async def lookup(self, link: Link) -> Coupon | None:
        """The coupon that holds the link's external id now, or None when there is none."""
        ...

    async def offer(self, offer_id: str) -> Offer | None:
        """The offer a coupon belongs to, or None when it does not exist."""
        ...

    async def redeem(self, link: Link, details: RedeemDetails) -> str:
        """Mark the link's active coupon redeemed; returns the coupon id on a clean success.

        Raises `UpstreamUnreachable` only when the request certainly never left, and another
        `UpstreamError` for every other failure: the caller must then read the coupon back.
        """
        ...
