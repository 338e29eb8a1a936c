"""How an attempt at redeeming ended, and who and what it tells the upstream.

`Redemption` is the result of one attempt as the member and the API caller learn it; the claim
store keeps it with `to_dict` / `from_dict`. `Attribution` says who confirmed it at the counter,
`RedeemDetails` what goes upstream with it, `Till` what the counter adds (a code, a transaction).
"""

from __future__ import annotations

import enum
from dataclasses import asdict, dataclass, field, replace
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

from resolver.domain.coupons import CouponState, Link, iso, parse_iso

if TYPE_CHECKING:
    from datetime import datetime

# Whether a campaign's redemptions need a staff member's code: never, when one is given, always.
VerificationPolicy = Literal["off", "optional", "required"]


class Outcome(enum.StrEnum):
    """How a redemption attempt ended, as the member and the API caller learn it."""

    REDEEMED = "redeemed"
    ALREADY_REDEEMED = "already_redeemed"
    NO_ACTIVE_COUPON = "no_active_coupon"
    EXPIRED = "expired"
    # The offer is switched off for now, or not open yet: the coupon may be redeemable later.
    OFFER_UNAVAILABLE = "offer_unavailable"
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
    CouponState.OFFER_UNAVAILABLE: Outcome.OFFER_UNAVAILABLE,
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
    # What the counter added to the attempt (the code used, the till's transaction), if anything.
    till: Till | None = None

    @property
    def redemption_code(self) -> str | None:
        return self.till.code if self.till else None

    @property
    def transaction_reference(self) -> str | None:
        return self.till.transaction_reference if self.till else None

    @property
    def transaction_amount(self) -> Decimal | None:
        return self.till.transaction_amount if self.till else None

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
            "redeemed_at": iso(self.redeemed_at),
            "detail": self.detail,
            "failure": self.failure.value if self.failure else None,
            "receipt": self.receipt,
            "reference": self.reference,
            "verified_by": self.verified_by.to_dict() if self.verified_by else None,
            "confirmed": self.confirmed,
            "redeemed_here": self.redeemed_here,
            "till": self.till.to_dict() if self.till else None,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Redemption:
        return cls(
            outcome=Outcome(data["outcome"]),
            link=Link(data["campaign_id"], data["external_id"]),
            coupon_id=data.get("coupon_id"),
            offer_id=data.get("offer_id"),
            redeemed_at=parse_iso(data.get("redeemed_at")),
            detail=data.get("detail", ""),
            failure=Failure(data["failure"]) if data.get("failure") else None,
            receipt=data.get("receipt"),
            reference=data.get("reference"),
            verified_by=Attribution.from_dict(data["verified_by"])
            if data.get("verified_by")
            else None,
            confirmed=data.get("confirmed", True),
            redeemed_here=data.get("redeemed_here"),
            till=Till.from_dict(data["till"]) if data.get("till") else None,
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
class Till:
    """What the counter adds to a redemption, all of it sent upstream and kept with the result:
    the code used (the offer's fixed code, the code the cashier gave, or a till's own) and the
    till's transaction reference and amount."""

    code: str | None = None
    transaction_reference: str | None = None
    transaction_amount: Decimal | None = None

    def __bool__(self) -> bool:
        return any(
            value is not None
            for value in (self.code, self.transaction_reference, self.transaction_amount)
        )

    def to_dict(self) -> dict[str, Any]:
        amount = self.transaction_amount
        return {
            "code": self.code,
            "transaction_reference": self.transaction_reference,
            "transaction_amount": str(amount) if amount is not None else None,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Till:
        amount = data.get("transaction_amount")
        return cls(
            code=data.get("code"),
            transaction_reference=data.get("transaction_reference"),
            transaction_amount=Decimal(amount) if amount is not None else None,
        )


@dataclass(frozen=True, slots=True)
class RedeemDetails:
    """What the resolver tells the upstream about a redemption (who, where, through what)."""

    source: str
    reference: str = ""  # free text: store, staff member, device
    metadata: dict[str, str] = field(default_factory=dict)
    lat: float | None = None  # where the redeeming device was, when the member allowed it
    lon: float | None = None
    till: Till = field(default_factory=Till)  # the code used and the till's transaction

    @classmethod
    def of(
        cls,
        source: str,
        staff: Attribution | None,
        location: tuple[float, float] | None,
        till: Till | None = None,
    ) -> RedeemDetails:
        """Who verified (when staff did), where the device was (when known), and what the
        counter added."""
        return cls(
            source=source,
            reference=staff.reference if staff else "",
            metadata=staff.metadata if staff else {},
            lat=location[0] if location else None,
            lon=location[1] if location else None,
            till=till or Till(),
        )
