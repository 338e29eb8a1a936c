"""A PassKit offer's settings in plain words, with what an operator should look at twice.

Read-only and lenient: the offer's JSON as PassKit answers it (field names from its SDK's
`offer.proto`), nothing more. Enums travel as their names; unset fields come as zero values.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from resolver.providers import reading

if TYPE_CHECKING:
    from resolver.cli.findings import Section

EXPIRY = {
    "AUTO_EXPIRE_OFFER_END_DATE": "coupons expire at the offer's end (its issue end date)",
    "AUTO_EXPIRE_REDEMPTION_END_DATE": "coupons expire at the end of the redemption window",
    "EXPIRE_AFTER_X_DAYS": "coupons expire {days} day(s) after they are issued, at 23:59:59 in "
    "the offer's time zone",
    "EXPIRE_ON_VARIABLE_DATE_TIME": "each coupon expires at its own expiry date",
}
REDEMPTION = {
    "REDEMPTION_TYPE_API": "by API (this service, a till, PassKit's scanner app)",
    "REDEMPTION_TYPE_CUSTOMER_INITIATED": "by the member opening PassKit's own link on the "
    "coupon, which redeems at once",
    "REDEMPTION_TYPE_CUSTOMER_INITIATED_CODE_FIXED": "by the member opening PassKit's own link, "
    "which shows staff a fixed code and redeems",
    "REDEMPTION_TYPE_CUSTOMER_INITIATED_CODE_PROVIDED_ON_REDEEM": "by the member opening "
    "PassKit's own link and typing a code staff give",
}
CUSTOMER_INITIATED = "REDEMPTION_TYPE_CUSTOMER_INITIATED"


def describe_offer(offer: dict[str, Any], section: Section, *, now: datetime) -> None:
    """Add the offer's settings (info) and what looks wrong (warnings, errors) to `section`."""
    title = reading.as_text(offer.get("offerTitle")) or "(no title)"
    section.info(f"offer {reading.as_text(offer.get('id'))}: {title}")
    if offer.get("disabled") is True:
        section.warn(
            "disabled: switched off for now, so PassKit refuses to redeem its coupons "
            "(members see 'not available', not 'expired')"
        )
    zone = reading.as_text(offer.get("ianaTimezone"))
    if zone:
        section.info(f"time zone: {zone}")
    else:
        section.warn("no time zone (ianaTimezone): its dates are read as UTC")
    _windows(offer, section, now)
    _expiry(offer, section)
    _redemption(offer, section)


def _windows(offer: dict[str, Any], section: Section, now: datetime) -> None:
    settings = reading.as_object(offer.get("redemptionSettings"))
    for label, start_key, end_key, source in (
        ("issued", "issueStartDate", "issueEndDate", offer),
        ("redeemable", "redemptionStartDate", "redemptionEndDate", settings),
    ):
        start = reading.parse_date(source.get(start_key))
        end = reading.parse_date(source.get(end_key))
        section.info(f"{label}: from {_date(start)} until {_date(end)}")
        if label == "redeemable" and end is not None and end <= now:
            section.error(f"the redemption window ended on {_date(end)}: every coupon is refused")
        elif label == "redeemable" and start is not None and start > now:
            section.warn(f"the redemption window opens only on {_date(start)}")


def _expiry(offer: dict[str, Any], section: Section) -> None:
    settings = reading.as_object(offer.get("couponExpirySettings"))
    kind = reading.as_text(settings.get("couponExpiryType")) or "AUTO_EXPIRE_OFFER_END_DATE"
    days = settings.get("expireAfterXDays")
    words = EXPIRY.get(kind)
    if words is None:
        section.warn(f"expiry type {kind}: not one this check knows")
        return
    section.info("expiry: " + words.format(days=days if isinstance(days, int) else "?"))
    if kind == "EXPIRE_AFTER_X_DAYS" and not (isinstance(days, int) and days > 0):
        section.warn("expiry after X days, with no number of days set")


def _redemption(offer: dict[str, Any], section: Section) -> None:
    settings = reading.as_object(offer.get("redemptionSettings"))
    raw = settings.get("redemptionType")
    kinds = [raw] if isinstance(raw, str) else raw if isinstance(raw, list) else []
    kinds = [kind for kind in kinds if isinstance(kind, str)] or ["REDEMPTION_TYPE_API"]
    for kind in kinds:
        section.info(f"redeemed {REDEMPTION.get(kind, kind)}")
    if any(kind.startswith(CUSTOMER_INITIATED) for kind in kinds):
        section.warn(
            "this offer is also redeemable through PassKit's own link on the coupon: whoever "
            "opens it (a member, a link scanner) redeems without this service"
        )
    if "REDEMPTION_TYPE_API" not in kinds:
        section.warn(
            "REDEMPTION_TYPE_API is not among its redemption types: PassKit may refuse this "
            "service's redeem calls (unconfirmed; `resolver probe` finds out)"
        )


def _date(value: datetime | None) -> str:
    if value is None:
        return "(unset)"
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
