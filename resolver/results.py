"""How each way an attempt can end is told: the detail texts and the results built for
failures, doubt and waiting. Pure functions; the use case decides which one applies."""

from __future__ import annotations

from resolver.exceptions import (
    UpstreamAuthError,
    UpstreamError,
    UpstreamNotApplied,
    UpstreamTimeout,
    UpstreamUnreachable,
)
from resolver.models import Failure, Link, Outcome, Redemption

RETRY_AFTER_SECONDS = 2

DETAILS = {
    Outcome.REDEEMED: "The coupon was redeemed.",
    Outcome.ALREADY_REDEEMED: "The coupon had already been redeemed.",
    Outcome.NO_ACTIVE_COUPON: "There is no active coupon for this link.",
    Outcome.EXPIRED: "The coupon has expired.",
    Outcome.IN_PROGRESS: "A redemption of this coupon is still in progress; try again shortly.",
}


def failure(link: Link, coupon_id: str, offer_id: str, error: UpstreamError) -> Redemption:
    """An upstream error, with the HTTP-facing kind (502 / 503 / 504) it maps to."""
    if isinstance(error, UpstreamUnreachable):
        kind, detail = Failure.UNREACHABLE, "The coupon service could not be reached."
    elif isinstance(error, UpstreamTimeout):
        kind, detail = Failure.TIMEOUT, "The coupon service did not answer in time."
    elif isinstance(error, UpstreamAuthError):
        kind, detail = Failure.BAD_ANSWER, "The coupon service refused our credentials."
    elif isinstance(error, UpstreamNotApplied):
        kind, detail = Failure.BAD_ANSWER, "The coupon service could not redeem it just now."
    else:
        kind, detail = Failure.BAD_ANSWER, "The coupon service gave an unusable answer."
    return Redemption(
        Outcome.UPSTREAM_ERROR,
        link,
        coupon_id=coupon_id or None,
        offer_id=offer_id or None,
        detail=detail + " Nothing was redeemed twice; please try again.",
        failure=kind,
    )


def unconfirmed(link: Link, coupon_id: str) -> Redemption:
    """An earlier attempt that no read-back can settle: never tried again blind."""
    return Redemption(
        Outcome.UPSTREAM_ERROR,
        link,
        coupon_id=coupon_id or None,
        detail="An earlier redemption of this coupon could not be confirmed by the coupon "
        "service; staff can check it there. It is not tried again for now.",
        failure=Failure.BAD_ANSWER,
    )


def in_progress(link: Link, receipt: str) -> Redemption:
    """Another request holds the claim past the coalescing bound: retry shortly."""
    return Redemption(
        Outcome.IN_PROGRESS,
        link,
        detail=DETAILS[Outcome.IN_PROGRESS],
        receipt=receipt,
        retry_after=RETRY_AFTER_SECONDS,
    )


def describe(error: UpstreamError) -> dict[str, object]:
    """What may be logged about an upstream error: its kind and status, never its message
    (upstream messages may quote the ids we must not log)."""
    return {"error": type(error).__name__, "status": getattr(error, "status_code", None)}
