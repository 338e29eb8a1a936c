"""The one rule for what a coupon looks like, and the stored shapes round-tripping."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from resolver.domain.coupons import Coupon, CouponState, Link, Offer, coupon_state
from resolver.domain.redemptions import Attribution, Failure, Outcome, Redemption

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
DAY = timedelta(days=1)


def coupon(**fields: object) -> Coupon:
    values: dict[str, object] = {
        "id": "c",
        "campaign_id": "k",
        "external_id": "e",
        "offer_id": "o",
        "status": "UNREDEEMED",
    }
    return Coupon(**(values | fields))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("the_coupon", "offer", "state"),
    [
        (None, None, CouponState.NO_ACTIVE_COUPON),
        (coupon(invalidated=True), None, CouponState.NO_ACTIVE_COUPON),
        (coupon(status="REDEEMED"), None, CouponState.ALREADY_REDEEMED),
        (coupon(expiry_date=NOW), None, CouponState.EXPIRED),
        (coupon(expiry_date=NOW + DAY), None, CouponState.REDEEMABLE),
        (coupon(), Offer("o", "t", ends=NOW - DAY), CouponState.EXPIRED),
        (coupon(), Offer("o", "t", starts=NOW + DAY), CouponState.OFFER_UNAVAILABLE),
        (coupon(), Offer("o", "t", disabled=True), CouponState.OFFER_UNAVAILABLE),
        (coupon(expiry_date=NOW), Offer("o", "t", disabled=True), CouponState.EXPIRED),
        (coupon(), Offer("o", "t", starts=NOW - DAY, ends=NOW + DAY), CouponState.REDEEMABLE),
    ],
)
def test_coupon_state(the_coupon: Coupon | None, offer: Offer | None, state: CouponState) -> None:
    """Voided, redeemed, past expiry or the offer's end, not available now (disabled or not
    open yet, unless expired anyway), or redeemable."""
    assert coupon_state(the_coupon, offer, NOW) is state


def test_redemptions_round_trip_through_their_stored_form() -> None:
    """What Redis keeps is what comes back (the replay flag is per answer, not stored)."""
    original = Redemption(
        Outcome.UPSTREAM_ERROR,
        Link("k", "e"),
        coupon_id="c",
        offer_id="o",
        redeemed_at=NOW,
        detail="d",
        failure=Failure.TIMEOUT,
        receipt="r",
        replayed=True,
    )
    restored = Redemption.from_dict(original.to_dict())
    assert restored == dataclasses.replace(original, replayed=False)


@pytest.mark.parametrize(
    "who",
    [Attribution("paris", "Paris Opéra", "ana", "Ana Lima"), Attribution("paris", "Paris Opéra")],
)
def test_who_verified_round_trips_with_the_redemption(who: Attribution) -> None:
    """A receipt keeps the store and employee (or store code) that verified it."""
    original = Redemption(Outcome.REDEEMED, Link("k", "e"), redeemed_at=NOW, verified_by=who)
    assert Redemption.from_dict(original.to_dict()) == original


def test_an_attribution_says_who_in_the_upstreams_terms() -> None:
    """A one-line reference and a metadata map, with ids and names only."""
    ana = Attribution("paris", "Paris Opéra", "ana", "Ana Lima")
    assert ana.reference == "Paris Opéra (paris) · Ana Lima (ana)"
    assert ana.metadata == {
        "verifiedBy": "pin",
        "storeId": "paris",
        "storeName": "Paris Opéra",
        "employeeId": "ana",
        "employeeName": "Ana Lima",
    }
    store = Attribution("paris", "Paris Opéra")
    assert store.reference == "Paris Opéra (paris) · store code"
    assert store.metadata == {
        "verifiedBy": "store_code",
        "storeId": "paris",
        "storeName": "Paris Opéra",
    }


def test_offers_round_trip_through_their_cached_form() -> None:
    """The offer cache returns what it was given."""
    offer = Offer("o", "t", timezone="Europe/Paris", ends=NOW, translations={"title": {"fr": "x"}})
    assert Offer.from_dict(offer.to_dict()) == offer
