"""When a coupon expires, from each of PassKit's expiry types and the coupon's own date: the
earliest bound wins, and a switched-off offer is "not available right now", not expired."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from resolver.domain.coupons import Coupon, CouponState, Offer, coupon_state
from resolver.domain.expiry import ExpiryType, after_days, expires_at, offer_zone

PARIS = ZoneInfo("Europe/Paris")
DAY = timedelta(days=1)
NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)


def coupon(**fields: object) -> Coupon:
    values: dict[str, object] = {
        "id": "c",
        "campaign_id": "k",
        "external_id": "e",
        "offer_id": "o",
        "status": "UNREDEEMED",
    }
    return Coupon(**(values | fields))  # type: ignore[arg-type]


def thirty_days(**fields: object) -> Offer:
    values: dict[str, object] = {
        "expiry_type": ExpiryType.AFTER_DAYS,
        "expire_after_days": 30,
        "timezone": "Europe/Paris",
    }
    return Offer("o", "t", **(values | fields))  # type: ignore[arg-type]


def test_a_coupon_issued_29_days_ago_is_redeemable_at_2330_in_the_offers_zone() -> None:
    """Issued at 10:00 on 1 May (Paris), a 30-day coupon is good on 30 May at 23:30 there."""
    issued = datetime(2026, 5, 1, 10, tzinfo=PARIS)
    now = datetime(2026, 5, 30, 23, 30, tzinfo=PARIS)
    assert coupon_state(coupon(issued_at=issued), thirty_days(), now) is CouponState.REDEEMABLE


def test_the_day_after_it_is_still_redeemable_until_235959_of_the_thirtieth_day() -> None:
    """On 31 May (issue date + 30 days) at 23:30 and 23:59:58 it is good; at 23:59:59 not."""
    issued = datetime(2026, 5, 1, 10, tzinfo=PARIS)
    the_coupon = coupon(issued_at=issued)
    for hour, minute, second in ((23, 30, 0), (23, 59, 58)):
        now = datetime(2026, 5, 31, hour, minute, second, tzinfo=PARIS)
        assert coupon_state(the_coupon, thirty_days(), now) is CouponState.REDEEMABLE
    last = datetime(2026, 5, 31, 23, 59, 59, tzinfo=PARIS)
    assert coupon_state(the_coupon, thirty_days(), last) is CouponState.EXPIRED


def test_the_day_after_that_it_has_expired() -> None:
    """On 1 June at 00:00:30 in Paris the 30-day coupon from 1 May has expired."""
    issued = datetime(2026, 5, 1, 10, tzinfo=PARIS)
    now = datetime(2026, 6, 1, 0, 0, 30, tzinfo=PARIS)
    assert coupon_state(coupon(issued_at=issued), thirty_days(), now) is CouponState.EXPIRED


def test_days_are_counted_on_the_offers_calendar_not_utcs() -> None:
    """Issued at 00:30 Paris time (22:30 UTC the day before), day one is the Paris date."""
    issued = datetime(2026, 5, 1, 0, 30, tzinfo=PARIS)
    assert issued.astimezone(UTC).day == 30
    assert after_days(issued, 30, PARIS) == datetime(2026, 5, 31, 23, 59, 59, tzinfo=PARIS)


def test_a_change_to_summer_time_moves_nothing() -> None:
    """Across the last Sunday of March the end is still 23:59:59 on the wall clock."""
    issued = datetime(2026, 3, 20, 9, tzinfo=PARIS)
    end = after_days(issued, 10, PARIS)
    assert (end.date().isoformat(), end.hour, end.minute) == ("2026-03-30", 23, 59)
    assert end.utcoffset() == timedelta(hours=2)


def test_after_x_days_is_capped_at_the_offers_end() -> None:
    """An offer that ends before X days have passed ends its coupons with it."""
    issued = NOW - 5 * DAY
    offer = thirty_days(issue_ends=NOW - DAY)
    assert expires_at(coupon(issued_at=issued), offer) == NOW - DAY
    assert coupon_state(coupon(issued_at=issued), offer, NOW) is CouponState.EXPIRED


def test_after_x_days_without_an_issue_date_falls_back_to_the_other_bounds() -> None:
    """A coupon whose issue time is unknown is bounded by what else is known, if anything."""
    assert expires_at(coupon(), thirty_days()) is None
    assert expires_at(coupon(expiry_date=NOW), thirty_days()) == NOW


def test_the_default_type_expires_at_the_offers_end_date() -> None:
    """AUTO_EXPIRE_OFFER_END_DATE: the issue end date, though the coupon has no date."""
    offer = Offer("o", "t", issue_ends=NOW - DAY)
    assert offer.expiry_type is ExpiryType.OFFER_END
    assert coupon_state(coupon(), offer, NOW) is CouponState.EXPIRED
    assert coupon_state(coupon(), offer, NOW - 2 * DAY) is CouponState.REDEEMABLE


def test_the_redemption_end_type_expires_at_the_redemption_windows_end() -> None:
    """AUTO_EXPIRE_REDEMPTION_END_DATE: the window's end, not the issue end."""
    offer = Offer(
        "o", "t", expiry_type=ExpiryType.REDEMPTION_END, issue_ends=NOW - DAY, ends=NOW + DAY
    )
    assert expires_at(coupon(), offer) == NOW + DAY
    assert coupon_state(coupon(), offer, NOW) is CouponState.REDEEMABLE


def test_the_variable_type_uses_the_coupons_own_date() -> None:
    """EXPIRE_ON_VARIABLE_DATE_TIME: the coupon's expiryDate decides."""
    offer = Offer("o", "t", expiry_type=ExpiryType.COUPON_DATE, issue_ends=NOW + 9 * DAY)
    assert coupon_state(coupon(expiry_date=NOW - DAY), offer, NOW) is CouponState.EXPIRED
    assert coupon_state(coupon(expiry_date=NOW + DAY), offer, NOW) is CouponState.REDEEMABLE


@pytest.mark.parametrize("expiry_type", list(ExpiryType))
def test_the_earliest_bound_wins_for_every_type(expiry_type: ExpiryType) -> None:
    """A coupon date earlier than the offer's end, or a window end earlier than the coupon's
    date, ends the coupon whatever the type."""
    late = Offer("o", "t", expiry_type=expiry_type, issue_ends=NOW + 9 * DAY, ends=NOW + 9 * DAY)
    assert expires_at(coupon(expiry_date=NOW - DAY), late) == NOW - DAY
    early = Offer("o", "t", expiry_type=expiry_type, ends=NOW - DAY)
    assert expires_at(coupon(expiry_date=NOW + DAY), early) == NOW - DAY


def test_an_unknown_expiry_type_reads_as_the_default() -> None:
    """A type this service does not know (or none) is PassKit's default."""
    assert ExpiryType.read("SOMETHING_NEW") is ExpiryType.OFFER_END
    assert ExpiryType.read(None) is ExpiryType.OFFER_END


def test_an_unknown_zone_counts_in_utc() -> None:
    """An offer's zone this machine does not know must not make its coupons unreadable."""
    assert offer_zone("Mars/Olympus") is UTC
    assert offer_zone(None) is UTC


def test_a_disabled_offer_is_not_available_rather_than_expired() -> None:
    """`disabled` is a temporary switch-off: its own state, not expired."""
    offer = Offer("o", "t", disabled=True, issue_ends=NOW + DAY)
    assert coupon_state(coupon(), offer, NOW) is CouponState.OFFER_UNAVAILABLE


def test_an_offer_not_open_yet_is_not_available() -> None:
    """Before the redemption window opens the coupon is not available yet, not expired."""
    offer = Offer("o", "t", starts=NOW + DAY)
    assert coupon_state(coupon(), offer, NOW) is CouponState.OFFER_UNAVAILABLE


def test_the_offers_expiry_settings_survive_the_cache() -> None:
    """The cached form of an offer keeps its expiry type, days and issue end."""
    offer = thirty_days(issue_ends=NOW)
    assert Offer.from_dict(offer.to_dict()) == offer
