"""Reading JSON bodies into sandbox records, refusing malformed input with `BadRequest`.

PassKit requests (the redeem body) are read leniently, as grpc-gateway does: unknown fields are
dropped. Admin bodies are read strictly, so a typo in a test ("expirydate") fails loudly
instead of silently making a coupon that never expires.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from resolver_sandbox.errors import BadRequest
from resolver_sandbox.records import (
    COUPON_STATUSES,
    OFFER_END,
    PASS_INVALIDATED,
    PASS_ISSUED,
    UNREDEEMED,
    Offer,
    Person,
    RedemptionDetails,
)
from resolver_sandbox.timestamps import parse_timestamp

if TYPE_CHECKING:
    from datetime import datetime

Body = Mapping[str, object]

_PERSON_FIELDS = {
    "forename": "forename",
    "surname": "surname",
    "displayName": "display_name",
    "salutation": "salutation",
    "emailAddress": "email_address",
    "mobileNumber": "mobile_number",
}
_COUPON_FIELDS = frozenset(
    {
        "id",
        "campaignId",
        "externalId",
        "offerId",
        "expiryDate",
        "status",
        "person",
        "sku",
        "metaData",
        "redemptionDetails",
        "passMetaData",
        "created",
    }
)
_REISSUE_FIELDS = frozenset({"offerId", "expiryDate", "person", "sku", "metaData"})
_OFFER_FIELDS = frozenset(
    {
        "id",
        "campaignId",
        "offerTitle",
        "offerShortTitle",
        "offerDetails",
        "offerFinePrint",
        "localizedOfferTitle",
        "localizedOfferShortTitle",
        "localizedOfferDetails",
        "localizedOfferFinePrint",
        "ianaTimezone",
        "redemptionSettings",
        "disabled",
        "issueEndDate",
        "couponExpirySettings",
    }
)
_WINDOW_FIELDS = ("redemptionStartDate", "redemptionEndDate")
CAMPAIGN_FIELDS = frozenset({"id", "name", "ianaTimezone"})


@dataclass(frozen=True, slots=True)
class RedeemTarget:
    """Which coupon a redeem call names: by coupon id, or by campaign and external id."""

    coupon_id: str
    campaign_id: str
    external_id: str
    details: RedemptionDetails


@dataclass(frozen=True, slots=True)
class CouponSpec:
    """What an admin call asked a new coupon to be; empty ids mean "choose one"."""

    campaign_id: str
    external_id: str
    offer_id: str = ""
    coupon_id: str = ""
    status: str = UNREDEEMED
    expiry_date: datetime | None = None
    created: datetime | None = None  # when it was issued; now unless a test backdates it
    person: Person | None = None
    sku: str = ""
    meta_data: dict[str, str] = field(default_factory=dict)
    redemption: RedemptionDetails | None = None
    pass_status: str = PASS_ISSUED


def decode_object(raw: bytes) -> Body:
    """The request body as a JSON object; an empty body reads as `{}`."""
    if not raw.strip():
        return {}
    try:
        value = json.loads(raw)
    except ValueError as error:
        raise BadRequest(f"body is not valid JSON: {error}") from None
    return as_object(value, "body")


def as_object(value: object, where: str) -> Body:
    """`value` if it is a JSON object, else `BadRequest` naming `where`."""
    if not isinstance(value, Mapping):
        raise BadRequest(f"{where} must be a JSON object")
    return value


def reject_unknown(body: Body, allowed: frozenset[str], where: str) -> None:
    """Refuse admin bodies with fields the sandbox does not know (usually a typo)."""
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise BadRequest(f"unknown field(s) in {where}: {', '.join(unknown)}")


def string(body: Body, key: str, where: str = "") -> str:
    """An optional string field; missing or null reads as ""."""
    value = body.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise BadRequest(f"{where}{key} must be a string")
    return value


def required_string(body: Body, key: str, where: str = "") -> str:
    """A string field that must be present and not empty."""
    value = string(body, key, where)
    if not value:
        raise BadRequest(f"{where}{key} is required")
    return value


def boolean(body: Body, key: str, where: str = "") -> bool:
    """An optional boolean field; missing reads as false."""
    value = body.get(key)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise BadRequest(f"{where}{key} must be true or false")
    return value


def integer(body: Body, key: str, where: str = "") -> int:
    """An optional whole number of at least 0; missing reads as 0."""
    value = body.get(key)
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise BadRequest(f"{where}{key} must be a whole number of at least 0")
    return value


def number(body: Body, key: str, where: str = "") -> float:
    """An optional number; protojson also accepts numbers written as strings."""
    value = body.get(key)
    if value is None:
        return 0.0
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise BadRequest(f"{where}{key} must be a number")
    try:
        return float(value)
    except ValueError:
        raise BadRequest(f"{where}{key} must be a number") from None


def timestamp(body: Body, key: str, where: str = "") -> datetime | None:
    """An optional RFC 3339 timestamp field; missing or null reads as unset."""
    value = string(body, key, where)
    if not value:
        return None
    try:
        return parse_timestamp(value)
    except ValueError:
        raise BadRequest(f"{where}{key} must be an RFC 3339 timestamp with an offset") from None


def string_map(body: Body, key: str, where: str = "") -> dict[str, str]:
    """An optional map of strings (`metaData`, `translations`)."""
    value = body.get(key)
    if value is None:
        return {}
    mapping = as_object(value, f"{where}{key}")
    if not all(isinstance(item, str) for item in mapping.values()):
        raise BadRequest(f"{where}{key} must map strings to strings")
    return {name: str(item) for name, item in mapping.items()}


def translations(body: Body, key: str) -> dict[str, str]:
    """A LocalizedString field, `{"translations": {"fr": "…"}}`, as a language → text map."""
    value = body.get(key)
    if value is None:
        return {}
    return string_map(as_object(value, key), "translations", f"{key}.")


def person(value: object) -> Person | None:
    """The `person` object of a coupon body; null or absent means no person."""
    if value is None:
        return None
    body = as_object(value, "person")
    reject_unknown(body, frozenset(_PERSON_FIELDS), "person")
    return Person(**{attr: string(body, key, "person.") for key, attr in _PERSON_FIELDS.items()})


def redemption_details(value: object, *, allow_date: bool) -> RedemptionDetails:
    """A `redemptionDetails` object; `redemptionDate` is only taken from admin bodies."""
    if value is None:
        return RedemptionDetails()
    body = as_object(value, "redemptionDetails")
    where = "redemptionDetails."
    alt = number(body, "alt", where)
    if alt != int(alt):
        raise BadRequest("redemptionDetails.alt must be a whole number")
    return RedemptionDetails(
        redemption_date=timestamp(body, "redemptionDate", where) if allow_date else None,
        redemption_code=string(body, "redemptionCode", where),
        lat=number(body, "lat", where),
        lon=number(body, "lon", where),
        alt=int(alt),
        redemption_source=string(body, "redemptionSource", where),
        redemption_reference=string(body, "redemptionReference", where),
        transaction_reference=string(body, "transactionReference", where),
        transaction_amount=number(body, "transactionAmount", where),
        meta_data=string_map(body, "metaData", where),
    )


def redeem_target(body: Body) -> RedeemTarget:
    """The coupon a redeem body names, `{"id"}` or `{"externalId", "campaignId"}`."""
    coupon_id = string(body, "id")
    campaign_id = string(body, "campaignId")
    external_id = string(body, "externalId")
    if not coupon_id and not (campaign_id and external_id):
        raise BadRequest("coupon id, or externalId and campaignId, are required")
    details = redemption_details(body.get("redemptionDetails"), allow_date=False)
    return RedeemTarget(coupon_id, campaign_id, external_id, details)


def coupon_spec(body: Body) -> CouponSpec:
    """An admin coupon body: one coupon to create."""
    reject_unknown(body, _COUPON_FIELDS, "coupon")
    status = string(body, "status") or UNREDEEMED
    if status not in COUPON_STATUSES:
        raise BadRequest(f"status must be one of {', '.join(COUPON_STATUSES)}")
    pass_status = PASS_ISSUED
    if body.get("passMetaData") is not None:
        pass_status = string(as_object(body["passMetaData"], "passMetaData"), "status")
        if pass_status not in (PASS_ISSUED, PASS_INVALIDATED):
            raise BadRequest(f"passMetaData.status must be {PASS_ISSUED} or {PASS_INVALIDATED}")
    redemption = None
    if body.get("redemptionDetails") is not None:
        redemption = redemption_details(body["redemptionDetails"], allow_date=True)
    return CouponSpec(
        campaign_id=required_string(body, "campaignId"),
        external_id=required_string(body, "externalId"),
        offer_id=string(body, "offerId"),
        coupon_id=string(body, "id"),
        status=status,
        expiry_date=timestamp(body, "expiryDate"),
        created=timestamp(body, "created"),
        person=person(body.get("person")),
        sku=string(body, "sku"),
        meta_data=string_map(body, "metaData"),
        redemption=redemption,
        pass_status=pass_status,
    )


def reissue_spec(body: Body, campaign_id: str, external_id: str) -> CouponSpec:
    """An admin reissue body: what the replacement coupon should differ in."""
    reject_unknown(body, _REISSUE_FIELDS, "reissue")
    return coupon_spec({**body, "campaignId": campaign_id, "externalId": external_id})


def offer(body: Body, now: datetime) -> Offer:
    """An admin offer body; a missing `ianaTimezone` means UTC, an explicit "" stays ""."""
    reject_unknown(body, _OFFER_FIELDS, "offer")
    settings = as_object(body.get("redemptionSettings") or {}, "redemptionSettings")
    window = [timestamp(settings, key, "redemptionSettings.") for key in _WINDOW_FIELDS]
    expiry = as_object(body.get("couponExpirySettings") or {}, "couponExpirySettings")
    return Offer(
        id=required_string(body, "id"),
        campaign_id=required_string(body, "campaignId"),
        created=now,
        updated=now,
        offer_title=string(body, "offerTitle"),
        offer_short_title=string(body, "offerShortTitle"),
        offer_details=string(body, "offerDetails"),
        offer_fine_print=string(body, "offerFinePrint"),
        localized_offer_title=translations(body, "localizedOfferTitle"),
        localized_offer_short_title=translations(body, "localizedOfferShortTitle"),
        localized_offer_details=translations(body, "localizedOfferDetails"),
        localized_offer_fine_print=translations(body, "localizedOfferFinePrint"),
        iana_timezone=string(body, "ianaTimezone") if "ianaTimezone" in body else "UTC",
        redemption_start_date=window[0],
        redemption_end_date=window[1],
        redemption_settings_extra={
            key: value for key, value in settings.items() if key not in _WINDOW_FIELDS
        },
        disabled=boolean(body, "disabled"),
        issue_end_date=timestamp(body, "issueEndDate"),
        coupon_expiry_type=string(expiry, "couponExpiryType") or OFFER_END,
        expire_after_days=integer(expiry, "expireAfterXDays"),
    )
