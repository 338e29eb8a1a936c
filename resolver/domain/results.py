"""How each way an attempt can end is told: the detail texts and the results built for
failures, doubt and waiting. Pure functions; the use case decides which one applies."""

from __future__ import annotations

from typing import TYPE_CHECKING

from resolver.domain.errors import (
    UpstreamAuthError,
    UpstreamError,
    UpstreamNotApplied,
    UpstreamTimeout,
    UpstreamUnreachable,
)
from resolver.domain.redemptions import Failure, Outcome, Redemption

if TYPE_CHECKING:
    from datetime import datetime

    from resolver.domain.coupons import Link

RETRY_AFTER_SECONDS = 2

DETAILS = {
    Outcome.REDEEMED: "The coupon was redeemed.",
    Outcome.ALREADY_REDEEMED: "The coupon had already been redeemed.",
    Outcome.NO_ACTIVE_COUPON: "There is no active coupon for this link.",
    Outcome.EXPIRED: "The coupon has expired.",
    Outcome.OFFER_UNAVAILABLE: "The offer is not available right now; try again later.",
    Outcome.IN_PROGRESS: "A redemption of this coupon is still in progress; try again shortly.",
}
# A success the back end cannot vouch for: it cannot tell whether the coupon was used before.
FIRST_KNOWN = (
    "The coupon was redeemed. This is the first redemption this service knows of; the coupon "
    "service cannot confirm whether it was used elsewhere before."
)
ALREADY_HERE = "The coupon had already been redeemed, through this service."


def failure(link: Link, coupon_id: str, offer_id: str, error: UpstreamError) -> Redemption:
    """Nothing was applied (the request never left, or the back end applied nothing)."""
    if isinstance(error, UpstreamUnreachable):
        kind, detail = Failure.UNREACHABLE, "The coupon service could not be reached."
    elif isinstance(error, UpstreamAuthError):
        kind, detail = Failure.BAD_ANSWER, "The coupon service refused our credentials."
    elif isinstance(error, UpstreamNotApplied):
        kind, detail = Failure.BAD_ANSWER, "The coupon service could not redeem it just now."
    else:
        kind, detail = Failure.BAD_ANSWER, "The coupon service refused the redemption."
    return Redemption(
        Outcome.UPSTREAM_ERROR,
        link,
        coupon_id=coupon_id or None,
        offer_id=offer_id or None,
        detail=detail + " Nothing was redeemed; please try again.",
        failure=kind,
        retry_after=RETRY_AFTER_SECONDS,
    )


def unconfirmed(
    link: Link, coupon_id: str, offer_id: str, error: UpstreamError | None, *, checkable: bool
) -> Redemption:
    """A redeem that may have been applied, which nothing could confirm yet.

    `error` is what went wrong with our own request (None: an earlier attempt's doubt that a
    read-back could not settle). `checkable` says whether the back end can ever tell: if so,
    the next request reads the coupon back first; if not, the coupon is not redeemed again
    while the doubt is remembered, and only staff can check it at the back end.
    """
    kind = Failure.TIMEOUT if isinstance(error, UpstreamTimeout) else Failure.BAD_ANSWER
    if error is None:
        cause = "An earlier redemption of this coupon could not be confirmed."
    elif isinstance(error, UpstreamTimeout):
        cause = "The coupon service did not answer in time."
    else:
        cause = "The coupon service did not answer clearly."
    if checkable:
        then = " It may have been redeemed; try again in a moment: the next try checks first."
    else:
        then = (
            " The coupon service cannot tell whether it was redeemed, so it is not tried again"
            " for now; staff can check it there."
        )
    return Redemption(
        Outcome.UNCONFIRMED,
        link,
        coupon_id=coupon_id or None,
        offer_id=offer_id or None,
        detail=cause + then,
        failure=kind,
        retry_after=RETRY_AFTER_SECONDS if checkable else None,
    )


def already_here(result: Redemption) -> Redemption:
    """Another request's success, as every request but that one learns it."""
    return Redemption(
        Outcome.ALREADY_REDEEMED,
        result.link,
        coupon_id=result.coupon_id,
        offer_id=result.offer_id,
        redeemed_at=result.redeemed_at,
        detail=ALREADY_HERE,
        redeemed_here=True,
        replayed=True,
    )


def in_progress(
    link: Link, receipt: str | None, retry_after: int = RETRY_AFTER_SECONDS
) -> Redemption:
    """Another request holds the claim past the coalescing bound: retry shortly."""
    return Redemption(
        Outcome.IN_PROGRESS,
        link,
        detail=DETAILS[Outcome.IN_PROGRESS],
        receipt=receipt,
        retry_after=max(1, retry_after),
    )


def settled(
    outcome: Outcome,
    link: Link,
    *,
    coupon_id: str | None,
    offer_id: str | None,
    redeemed_at: datetime | None = None,
    redeemed_here: bool | None = None,
) -> Redemption:
    """A definitive answer about the coupon other than our own success."""
    return Redemption(
        outcome,
        link,
        coupon_id=coupon_id,
        offer_id=offer_id,
        redeemed_at=redeemed_at,
        detail=DETAILS[outcome],
        redeemed_here=redeemed_here,
    )


def describe(error: UpstreamError) -> dict[str, object]:
    """What may be logged about an upstream error: its kind and status, never its message
    (upstream messages may quote the ids we must not log)."""
    return {"error": type(error).__name__, "status": getattr(error, "status_code", None)}
