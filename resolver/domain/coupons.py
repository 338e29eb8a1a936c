"""What a link names and what a back end holds: links, coupons, offers, and the rules that say
what state a coupon is in and whether a redemption read back was ours.

Plain frozen dataclasses with no I/O. Providers translate their back end's shapes into these;
the claim store keeps `Offer` with `to_dict` / `from_dict`.
"""

from __future__ import annotations

import enum
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from resolver.domain.expiry import ExpiryType, expired, not_available
from resolver.domain.hosted import Hosted

CouponStatus = Literal["UNREDEEMED", "REDEEMED"]


@dataclass(frozen=True, slots=True)
class Link:
    """What a permanent pass link names: a coupon campaign and the member's external id."""

    campaign_id: str
    external_id: str


@dataclass(frozen=True, slots=True)
class Offer:
    """What a coupon is for, as the page shows it; cached because offers change rarely."""

    id: str
    title: str
    short_title: str = ""
    details: str = ""
    fine_print: str = ""
    timezone: str | None = None
    starts: datetime | None = None
    ends: datetime | None = None
    disabled: bool = False
    # When its coupons expire (`resolver.domain.expiry`): the rule, the offer's own end (its
    # issue end date) and the days of EXPIRE_AFTER_X_DAYS. `starts`/`ends` are the
    # redemption window.
    expiry_type: ExpiryType = ExpiryType.OFFER_END
    issue_ends: datetime | None = None
    expire_after_days: int = 0
    # field name ("title", "details", "fine_print") -> language -> text
    translations: dict[str, dict[str, str]] = field(default_factory=dict)
    # What the merchant configured for PassKit's hosted page: redemption type and texts.
    hosted: Hosted = field(default_factory=Hosted)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["starts"] = iso(self.starts)
        data["ends"] = iso(self.ends)
        data["issue_ends"] = iso(self.issue_ends)
        data["expiry_type"] = self.expiry_type.value
        data["hosted"] = self.hosted.to_dict()
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Offer:
        return cls(
            **{
                **data,
                "starts": parse_iso(data.get("starts")),
                "ends": parse_iso(data.get("ends")),
                "issue_ends": parse_iso(data.get("issue_ends")),
                "expiry_type": ExpiryType.read(data.get("expiry_type")),
                "hosted": Hosted.from_dict(data.get("hosted") or {}),
            }
        )


@dataclass(frozen=True, slots=True)
class Coupon:
    """One coupon as the upstream holds it now."""

    id: str
    campaign_id: str
    external_id: str
    offer_id: str
    status: CouponStatus
    expiry_date: datetime | None = None
    redeemed_at: datetime | None = None
    display_name: str | None = None
    invalidated: bool = False
    # The back end says the coupon has expired, whether or not it tells when (Google's EXPIRED).
    expired: bool = False
    # Whether `status` is known: False when the back end can tell that a coupon exists but not
    # whether it was used (Skycore's documented answer), so UNREDEEMED only means "not known used".
    use_known: bool = True
    # What the back end recorded as having redeemed it, when it keeps that (PassKit's
    # redemptionSource): how a read-back tells a redemption by this service from another.
    redeemed_via: str | None = None
    # When it was issued (PassKit's `created`): where EXPIRE_AFTER_X_DAYS counts from.
    issued_at: datetime | None = None
    # The coupon's own code (PassKit's `sku`), which an offer may show to staff.
    sku: str = ""


def redeemed_through(coupon: Coupon, source: str) -> bool | None:
    """True when the back end's record names this service (any version) as what redeemed the
    coupon; None when it does not say, or names something this service cannot vouch for."""
    if not coupon.redeemed_via:
        return None
    return True if coupon.redeemed_via.split("/", 1)[0] == source.split("/", 1)[0] else None


class CouponState(enum.StrEnum):
    """What a coupon looks like to a member opening the link (before any redemption)."""

    REDEEMABLE = "redeemable"
    ALREADY_REDEEMED = "already_redeemed"
    EXPIRED = "expired"
    # The offer is switched off for now, or its redemption window has not opened: not expired.
    OFFER_UNAVAILABLE = "offer_unavailable"
    NO_ACTIVE_COUPON = "no_active_coupon"


def coupon_state(coupon: Coupon | None, offer: Offer | None, now: datetime) -> CouponState:
    """Classify a coupon read from the upstream; the one rule shared by preview and read-back.

    Expiry is the earliest bound the coupon and its offer's settings give
    (`resolver.domain.expiry`); an expired coupon is expired even while its offer is off.
    """
    if coupon is None or coupon.invalidated:
        return CouponState.NO_ACTIVE_COUPON
    if coupon.status == "REDEEMED":
        return CouponState.ALREADY_REDEEMED
    if expired(coupon, offer, now):
        return CouponState.EXPIRED
    if not_available(offer, now):
        return CouponState.OFFER_UNAVAILABLE
    return CouponState.REDEEMABLE


# How far apart our clock and the upstream's may be when we decide whether a REDEEMED coupon
# read back after an unclear answer was redeemed by our own attempt or before it.
CLOCK_TOLERANCE = timedelta(seconds=5)


def redeemed_by_attempt(redeemed_at: datetime | None, since: datetime, *, refused: bool) -> bool:
    """Whether a coupon read back as redeemed was redeemed by our attempt begun at `since`.

    `since` is when the attempt began, or, when it settles an earlier attempt's doubt, when that
    one began. `refused` says that every request of ours was definitely refused (nothing of ours
    can have been applied): then it was not ours. Otherwise it is ours when the back end's
    redemption time is not before `since` (within the clocks' tolerance), or when the back end
    does not say when: nobody else held the claim meanwhile.
    """
    if refused:
        return False
    return redeemed_at is None or redeemed_at >= since - CLOCK_TOLERANCE


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def parse_iso(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None
