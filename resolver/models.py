"""The resolver's vocabulary: links, coupons, offers, outcomes and redemptions.

Plain frozen dataclasses with no I/O. Providers translate their back end's shapes into these;
the store serialises `Redemption` and `Offer` with `to_dict` / `from_dict`.
"""

from __future__ import annotations

import enum
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Literal

CouponStatus = Literal["UNREDEEMED", "REDEEMED"]
# Whether a campaign's redemptions need a staff member's code: never, when one is given, always.
VerificationPolicy = Literal["off", "optional", "required"]


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
    # field name ("title", "details", "fine_print") -> language -> text
    translations: dict[str, dict[str, str]] = field(default_factory=dict)

    def window_closed(self, now: datetime) -> bool:
        """True when the offer cannot be redeemed at `now`: disabled or outside its window."""
        return (
            self.disabled
            or (self.starts is not None and now < self.starts)
            or (self.ends is not None and now >= self.ends)
        )

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["starts"] = _iso(self.starts)
        data["ends"] = _iso(self.ends)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Offer:
        return cls(
            **{
                **data,
                "starts": _parse(data.get("starts")),
                "ends": _parse(data.get("ends")),
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
    NO_ACTIVE_COUPON = "no_active_coupon"


def coupon_state(coupon: Coupon | None, offer: Offer | None, now: datetime) -> CouponState:
    """Classify a coupon read from the upstream; the one rule shared by preview and read-back."""
    if coupon is None or coupon.invalidated:
        return CouponState.NO_ACTIVE_COUPON
    if coupon.status == "REDEEMED":
        return CouponState.ALREADY_REDEEMED
    if coupon.expired or (coupon.expiry_date is not None and now >= coupon.expiry_date):
        return CouponState.EXPIRED
    if offer is not None and offer.window_closed(now):
        return CouponState.EXPIRED
    return CouponState.REDEEMABLE


class Outcome(enum.StrEnum):
    """How a redemption attempt ended, as the member and the API caller learn it."""

    REDEEMED = "redeemed"
    ALREADY_REDEEMED = "already_redeemed"
    NO_ACTIVE_COUPON = "no_active_coupon"
    EXPIRED = "expired"
    IN_PROGRESS = "in_progress"
    # The redeem may have been applied and nothing could tell yet: the doubt is remembered, and
    # the next request reads the coupon back before anything else.
    UNCONFIRMED = "unconfirmed"
    # Nothing was applied (the request never left, or the back end applied nothing): try again.
    UPSTREAM_ERROR = "upstream_error"

    @property
    def definitive(self) -> bool:
        """True when the upstream settled the question; such results are stored and replayed."""
        return self not in (Outcome.IN_PROGRESS, Outcome.UNCONFIRMED, Outcome.UPSTREAM_ERROR)


class Failure(enum.StrEnum):
    """Why an upstream_error happened; it picks the HTTP status (502 / 503 / 504)."""

    BAD_ANSWER = "bad_answer"
    UNREACHABLE = "unreachable"
    TIMEOUT = "timeout"


OUTCOME_FOR_STATE = {
    CouponState.ALREADY_REDEEMED: Outcome.ALREADY_REDEEMED,
    CouponState.EXPIRED: Outcome.EXPIRED,
    CouponState.NO_ACTIVE_COUPON: Outcome.NO_ACTIVE_COUPON,
}


@dataclass(frozen=True, slots=True)
class Redemption:
    """The result of one redemption attempt; stored in Redis as a receipt and replayed."""

    outcome: Outcome
    link: Link
    coupon_id: str | None = None
    offer_id: str | None = None
    redeemed_at: datetime | None = None
    detail: str = ""
    failure: Failure | None = None
    receipt: str | None = None
    reference: str | None = None  # the back end's own reference, e.g. a queued update's id
    verified_by: Attribution | None = None  # who confirmed it at the counter, when staff did
    # REDEEMED: whether the back end vouches that this was the coupon's first use. False for a
    # back end that cannot tell earlier use (it is then the first redemption this service
    # knows of).
    confirmed: bool = True
    # ALREADY_REDEEMED: True when this service redeemed it, None when that is not known.
    redeemed_here: bool | None = None
    replayed: bool = False
    retry_after: int | None = None

    def replay(self) -> Redemption:
        return replace(self, replayed=True)

    def with_receipt(self, receipt: str) -> Redemption:
        return replace(self, receipt=receipt)

    def to_dict(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome.value,
            "campaign_id": self.link.campaign_id,
            "external_id": self.link.external_id,
            "coupon_id": self.coupon_id,
            "offer_id": self.offer_id,
            "redeemed_at": _iso(self.redeemed_at),
            "detail": self.detail,
            "failure": self.failure.value if self.failure else None,
            "receipt": self.receipt,
            "reference": self.reference,
            "verified_by": self.verified_by.to_dict() if self.verified_by else None,
            "confirmed": self.confirmed,
            "redeemed_here": self.redeemed_here,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Redemption:
        return cls(
            outcome=Outcome(data["outcome"]),
            link=Link(data["campaign_id"], data["external_id"]),
            coupon_id=data.get("coupon_id"),
            offer_id=data.get("offer_id"),
            redeemed_at=_parse(data.get("redeemed_at")),
            detail=data.get("detail", ""),
            failure=Failure(data["failure"]) if data.get("failure") else None,
            receipt=data.get("receipt"),
            reference=data.get("reference"),
            verified_by=Attribution.from_dict(data["verified_by"])
            if data.get("verified_by")
            else None,
            confirmed=data.get("confirmed", True),
            redeemed_here=data.get("redeemed_here"),
        )


@dataclass(frozen=True, slots=True)
class Attribution:
    """Who confirmed a redemption at the counter: a store, and its employee when a PIN said so.

    Without an employee, the store's rotating code was given ("store code"). Ids and names
    only: a PIN or a code is never part of it, so it may go upstream, into receipts and logs.
    """

    store_id: str
    store_name: str
    employee_id: str | None = None
    employee_name: str | None = None

    @property
    def method(self) -> Literal["pin", "store_code"]:
        return "pin" if self.employee_id else "store_code"

    @property
    def reference(self) -> str:
        """One line for the upstream's free-text reference, e.g. `Paris (paris) · Ana (ana)`."""
        store = f"{self.store_name} ({self.store_id})"
        if self.employee_id:
            return f"{store} · {self.employee_name or self.employee_id} ({self.employee_id})"
        return f"{store} · store code"

    @property
    def metadata(self) -> dict[str, str]:
        """The same as string fields, for the upstream's metadata map."""
        fields = {
            "verifiedBy": self.method,
            "storeId": self.store_id,
            "storeName": self.store_name,
            "employeeId": self.employee_id,
            "employeeName": self.employee_name,
        }
        return {name: value for name, value in fields.items() if value}

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Attribution:
        return cls(**data)


@dataclass(frozen=True, slots=True)
class RedeemDetails:
    """What the resolver tells the upstream about a redemption (who, where, through what)."""

    source: str
    reference: str = ""  # free text: store, staff member, device
    metadata: dict[str, str] = field(default_factory=dict)
    lat: float | None = None  # where the redeeming device was, when the member allowed it
    lon: float | None = None

    @classmethod
    def of(
        cls, source: str, staff: Attribution | None, location: tuple[float, float] | None
    ) -> RedeemDetails:
        """Who verified (when staff did) and where the device was (when known)."""
        return cls(
            source=source,
            reference=staff.reference if staff else "",
            metadata=staff.metadata if staff else {},
            lat=location[0] if location else None,
            lon=location[1] if location else None,
        )


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


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _parse(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None
