"""The PassKit objects the sandbox stores, and their JSON as grpc-gateway renders it.

grpc-gateway emits every field, unset ones as zero values ("", 0, false, {}, null), with
lowerCamel names and enums as strings; `to_json` methods follow that so clients meet the
same shapes as against the real API.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from resolver_sandbox.timestamps import format_timestamp

# PassKit's couponExpiryType values the sandbox honours beyond a coupon's own expiryDate.
OFFER_END = "AUTO_EXPIRE_OFFER_END_DATE"
AFTER_DAYS = "EXPIRE_AFTER_X_DAYS"

UNREDEEMED = "UNREDEEMED"
REDEEMED = "REDEEMED"
COUPON_STATUSES = (UNREDEEMED, REDEEMED)

# passMetaData.status values ("PASS" as in wallet pass, not password).
PASS_ISSUED = "PASS_ISSUED"  # noqa: S105
PASS_INVALIDATED = "PASS_INVALIDATED"  # noqa: S105

JSONObject = dict[str, object]


def localized(translations: dict[str, str]) -> JSONObject:
    """A LocalizedString: `{"translations": {"fr": "…"}}`."""
    return {"translations": dict(translations)}


@dataclass(slots=True)
class Person:
    """The coupon holder (PassKit's `io.Person`, the fields a redemption page uses)."""

    forename: str = ""
    surname: str = ""
    display_name: str = ""
    salutation: str = ""
    email_address: str = ""
    mobile_number: str = ""

    def to_json(self) -> JSONObject:
        """The person as PassKit renders it."""
        return {
            "surname": self.surname,
            "forename": self.forename,
            "otherNames": [],
            "salutation": self.salutation,
            "suffix": "",
            "displayName": self.display_name,
            "gender": "NOT_KNOWN",
            "dateOfBirth": None,
            "emailAddress": self.email_address,
            "mobileNumber": self.mobile_number,
            "externalId": "",
        }


@dataclass(slots=True)
class RedemptionDetails:
    """What a redeem call reported; `redemption_date` is set by the sandbox, never by callers."""

    redemption_date: datetime | None = None
    redemption_code: str = ""
    lat: float = 0.0
    lon: float = 0.0
    alt: int = 0
    redemption_source: str = ""
    redemption_reference: str = ""
    transaction_reference: str = ""
    transaction_amount: float = 0.0
    meta_data: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> JSONObject:
        """The redemption details as PassKit renders them."""
        return {
            "redemptionDate": format_timestamp(self.redemption_date),
            "redemptionCode": self.redemption_code,
            "lat": self.lat,
            "lon": self.lon,
            "alt": self.alt,
            "redemptionSource": self.redemption_source,
            "redemptionReference": self.redemption_reference,
            "transactionReference": self.transaction_reference,
            "transactionAmount": self.transaction_amount,
            "metaData": dict(self.meta_data),
        }


@dataclass(slots=True)
class Campaign:
    """A coupon campaign: a named group of offers and coupons."""

    id: str
    name: str
    created: datetime
    iana_timezone: str = "UTC"
    # The offer a coupon gets when it is created without one.
    default_offer_id: str = ""

    def to_json(self) -> JSONObject:
        """The campaign as PassKit renders it."""
        stamp = format_timestamp(self.created)
        return {
            "id": self.id,
            "name": self.name,
            "localizedName": localized({}),
            "status": ["PROJECT_ACTIVE_FOR_OBJECT_CREATION", "PROJECT_PUBLISHED"],
            "passTypeIdentifier": "pass.io.passkit.sandbox",
            "ianaTimezone": self.iana_timezone,
            "created": stamp,
            "updated": stamp,
        }


@dataclass(slots=True)
class Offer:
    """A coupon offer: the texts shown to the member and the window in which it can be redeemed."""

    id: str
    campaign_id: str
    created: datetime
    updated: datetime
    offer_title: str = ""
    offer_short_title: str = ""
    offer_details: str = ""
    offer_fine_print: str = ""
    localized_offer_title: dict[str, str] = field(default_factory=dict)
    localized_offer_short_title: dict[str, str] = field(default_factory=dict)
    localized_offer_details: dict[str, str] = field(default_factory=dict)
    localized_offer_fine_print: dict[str, str] = field(default_factory=dict)
    iana_timezone: str = ""
    redemption_start_date: datetime | None = None
    redemption_end_date: datetime | None = None
    # Other redemptionSettings fields a test sent (redemptionType, ...), echoed back as given.
    redemption_settings_extra: JSONObject = field(default_factory=dict)
    disabled: bool = False
    # When its coupons expire (couponExpirySettings): PassKit's default is the offer's end, its
    # issueEndDate; "after X days" counts calendar days from a coupon's issue in the offer's zone.
    issue_end_date: datetime | None = None
    coupon_expiry_type: str = OFFER_END
    expire_after_days: int = 0

    def coupon_ends(self, issued: datetime) -> datetime | None:
        """When the offer's settings end a coupon issued at `issued` (its own expiryDate and
        the redemption window are checked apart); None when they set no end."""
        if self.coupon_expiry_type == AFTER_DAYS and self.expire_after_days > 0:
            zone = ZoneInfo(self.iana_timezone) if self.iana_timezone else UTC
            day = issued.astimezone(zone).date() + timedelta(days=self.expire_after_days)
            end = datetime.combine(day, time(23, 59, 59), tzinfo=zone)
            return min(end, self.issue_end_date) if self.issue_end_date else end
        if self.coupon_expiry_type == OFFER_END:
            return self.issue_end_date
        return None  # the redemption window's end, or the coupon's own date

    def redeemable_at(self, now: datetime) -> bool:
        """Whether the offer is enabled and `now` lies inside its redemption window."""
        if self.disabled:
            return False
        if self.redemption_start_date is not None and now < self.redemption_start_date:
            return False
        return self.redemption_end_date is None or now < self.redemption_end_date

    def to_json(self) -> JSONObject:
        """The offer as PassKit renders it."""
        settings: JSONObject = {
            **self.redemption_settings_extra,
            "redemptionStartDate": format_timestamp(self.redemption_start_date),
            "redemptionEndDate": format_timestamp(self.redemption_end_date),
        }
        return {
            "id": self.id,
            "campaignId": self.campaign_id,
            "offerTitle": self.offer_title,
            "localizedOfferTitle": localized(self.localized_offer_title),
            "offerShortTitle": self.offer_short_title,
            "localizedOfferShortTitle": localized(self.localized_offer_short_title),
            "offerDetails": self.offer_details,
            "localizedOfferDetails": localized(self.localized_offer_details),
            "offerFinePrint": self.offer_fine_print,
            "localizedOfferFinePrint": localized(self.localized_offer_fine_print),
            "beforeRedeemPassTemplateId": "",
            "afterRedeemPassTemplateId": "",
            "redemptionSettings": settings,
            "issueStartDate": None,
            "issueEndDate": format_timestamp(self.issue_end_date),
            "couponExpirySettings": {
                "couponExpiryType": self.coupon_expiry_type,
                "expireAfterXDays": self.expire_after_days,
            },
            "created": format_timestamp(self.created),
            "updated": format_timestamp(self.updated),
            "shortCode": "",
            "ianaTimezone": self.iana_timezone,
            "disabled": self.disabled,
        }


@dataclass(slots=True)
class Coupon:
    """A single-use coupon; `status` is UNREDEEMED or REDEEMED, as in PassKit."""

    id: str
    external_id: str
    campaign_id: str
    offer_id: str
    created: datetime
    updated: datetime
    status: str = UNREDEEMED
    expiry_date: datetime | None = None
    person: Person | None = None
    sku: str = ""
    meta_data: dict[str, str] = field(default_factory=dict)
    redemption: RedemptionDetails = field(default_factory=RedemptionDetails)
    pass_status: str = PASS_ISSUED

    def expired_at(self, now: datetime) -> bool:
        """Whether the coupon's own expiry date has passed (the offer window is checked apart)."""
        return self.expiry_date is not None and self.expiry_date <= now

    def to_json(self) -> JSONObject:
        """The coupon as PassKit renders it."""
        return {
            "id": self.id,
            "externalId": self.external_id,
            "offerId": self.offer_id,
            "campaignId": self.campaign_id,
            "person": None if self.person is None else self.person.to_json(),
            "metaData": dict(self.meta_data),
            "sku": self.sku,
            "optOut": False,
            "status": self.status,
            "expiryDate": format_timestamp(self.expiry_date),
            "redemptionDetails": self.redemption.to_json(),
            "passOverrides": None,
            "passMetaData": {"status": self.pass_status},
            "created": format_timestamp(self.created),
            "updated": format_timestamp(self.updated),
        }
