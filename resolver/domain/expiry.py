"""When a coupon stops being redeemable, from its offer's settings and its own dates.

PassKit decides a coupon's expiry by the offer's `couponExpirySettings.couponExpiryType`; the
coupon's own `expiryDate` applies only to `EXPIRE_ON_VARIABLE_DATE_TIME`. Whether PassKit also
writes the computed date into `expiryDate` for the other types is not documented, so the rule
here takes every bound it knows of and the earliest one wins:

| expiry type | bound |
|---|---|
| `AUTO_EXPIRE_OFFER_END_DATE` (default) | the offer's end (`issueEndDate`) |
| `AUTO_EXPIRE_REDEMPTION_END_DATE` | the redemption window's end |
| `EXPIRE_AFTER_X_DAYS` | 23:59:59 of the issue date + X days, in the offer's time zone |
| `EXPIRE_ON_VARIABLE_DATE_TIME` | the coupon's `expiryDate` |

and, whatever the type, the coupon's `expiryDate` when it has one and the end of the offer's
redemption window. Separately, an offer that is `disabled` (switched off for now) or whose
redemption window has not opened yet is "not available right now": not expired.
Pure functions of their arguments, no I/O (zone data is the standard library's).
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime, time, timedelta, tzinfo
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

if TYPE_CHECKING:
    from resolver.domain.coupons import Coupon, Offer

# The last second of a day: an "after X days" coupon is valid through that whole day.
END_OF_DAY = time(23, 59, 59)


class ExpiryType(enum.StrEnum):
    """PassKit's `couponExpiryType`: what decides when a coupon of the offer expires."""

    OFFER_END = "AUTO_EXPIRE_OFFER_END_DATE"
    REDEMPTION_END = "AUTO_EXPIRE_REDEMPTION_END_DATE"
    AFTER_DAYS = "EXPIRE_AFTER_X_DAYS"
    COUPON_DATE = "EXPIRE_ON_VARIABLE_DATE_TIME"

    @classmethod
    def read(cls, value: object) -> ExpiryType:
        """The type an offer names; the default (the offer's end) for unset or unknown ones."""
        return (
            cls(value)
            if isinstance(value, str) and value in cls._value2member_map_
            else cls.OFFER_END
        )


def offer_zone(name: str | None) -> tzinfo:
    """The offer's IANA zone, or UTC when it has none or an unknown one."""
    if name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            pass  # an unknown zone from upstream must not make a coupon unreadable
    return UTC


def after_days(issued: datetime, days: int, zone: tzinfo) -> datetime:
    """23:59:59 on the day `days` after the local day `issued` falls on, in `zone`.

    Calendar days, not 24-hour periods: the local date is advanced, then the end of that day
    is placed in the zone, so a change to or from summer time in between moves nothing.
    """
    day = issued.astimezone(zone).date() + timedelta(days=days)
    return datetime.combine(day, END_OF_DAY, tzinfo=zone)


def offer_bounds(offer: Offer, issued: datetime | None) -> list[datetime]:
    """The instants at which the offer's settings end a coupon issued at `issued`."""
    # The redemption window's end bounds every type (it is the whole of REDEMPTION_END).
    bounds = [offer.ends] if offer.ends is not None else []
    counts_days = offer.expiry_type is ExpiryType.AFTER_DAYS and offer.expire_after_days > 0
    if counts_days and issued is not None:
        bounds.append(after_days(issued, offer.expire_after_days, offer_zone(offer.timezone)))
    # The offer's end (its issue end date) ends the default type, and caps AFTER_DAYS.
    ends_with_offer = offer.expiry_type in (ExpiryType.OFFER_END, ExpiryType.AFTER_DAYS)
    if ends_with_offer and offer.issue_ends is not None:
        bounds.append(offer.issue_ends)
    return bounds


def expires_at(coupon: Coupon | None, offer: Offer | None) -> datetime | None:
    """When the coupon stops being redeemable: the earliest bound known, or None for none."""
    bounds = []
    if coupon is not None and coupon.expiry_date is not None:
        bounds.append(coupon.expiry_date)
    if offer is not None:
        bounds += offer_bounds(offer, coupon.issued_at if coupon else None)
    return min(bounds) if bounds else None


def offer_ended(offer: Offer | None, now: datetime) -> bool:
    """Whether the offer itself has ended at `now` (its end or its redemption window's), as
    opposed to one coupon's own time running out."""
    if offer is None:
        return False
    return any(end is not None and now >= end for end in (offer.ends, offer.issue_ends))


def expired(coupon: Coupon, offer: Offer | None, now: datetime) -> bool:
    """Whether the coupon has expired at `now` (the back end said so, or a bound has passed)."""
    end = expires_at(coupon, offer)
    return coupon.expired or (end is not None and now >= end)


def not_available(offer: Offer | None, now: datetime) -> bool:
    """Whether the offer cannot be redeemed right now but may be later: switched off, or its
    redemption window not open yet."""
    if offer is None:
        return False
    return offer.disabled or (offer.starts is not None and now < offer.starts)
