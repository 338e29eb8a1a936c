"""The in-memory state on its own: ids, expiry against its clock, reissue and the demo seed."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from resolver_sandbox import DEMO, SandboxState
from resolver_sandbox.payloads import CouponSpec
from resolver_sandbox.records import Person, RedemptionDetails
from resolver_sandbox.state import RedeemOutcome

START = datetime(2030, 6, 1, 12, 0, tzinfo=UTC)


class Clock:
    """A clock tests move by hand."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


def test_coupon_ids_are_22_alphanumerics_and_unique() -> None:
    """Generated ids look like PassKit's and never repeat."""
    state = SandboxState()
    specs = [CouponSpec(campaign_id="c", external_id=f"e{n}") for n in range(500)]
    ids = [coupon.id for coupon in state.create_coupons(specs)]
    assert all(re.fullmatch(r"[A-Za-z0-9]{22}", coupon_id) for coupon_id in ids)
    assert len(set(ids)) == 500


def test_seed_makes_coupon_ids_reproducible() -> None:
    """Two states with the same seed generate the same ids."""
    first, second = SandboxState(seed=1), SandboxState(seed=1)
    spec = CouponSpec(campaign_id="c", external_id="e")
    assert first.create_coupons([spec])[0].id == second.create_coupons([spec])[0].id


def test_coupon_expires_at_its_expiry_date() -> None:
    """A coupon redeems until its expiry instant and not from that instant on."""
    clock = Clock()
    state = SandboxState(clock=clock)
    expiry = START + timedelta(hours=1)
    early, late = state.create_coupons(
        [
            CouponSpec(campaign_id="c", external_id="early", expiry_date=expiry),
            CouponSpec(campaign_id="c", external_id="late", expiry_date=expiry),
        ]
    )
    clock.now = expiry - timedelta(microseconds=1)
    assert state.redeem(early, RedemptionDetails()) is RedeemOutcome.APPLIED
    clock.now = expiry
    assert state.redeem(late, RedemptionDetails()) is RedeemOutcome.EXPIRED


def test_redemption_date_comes_from_the_state_clock() -> None:
    """The redemption date is the state's now."""
    clock = Clock()
    state = SandboxState(clock=clock)
    (coupon,) = state.create_coupons([CouponSpec(campaign_id="c", external_id="e")])
    state.redeem(coupon, RedemptionDetails())
    assert coupon.redemption.redemption_date == START


def test_reissue_inherits_person_sku_and_metadata_when_asked() -> None:
    """Fields named in `inherit` are copied from the old coupon; others come from the spec."""
    state = SandboxState()
    person = Person(forename="Ada", display_name="Ada L")
    (old,) = state.create_coupons(
        [CouponSpec(campaign_id="c", external_id="e", person=person, sku="S", meta_data={"k": "v"})]
    )
    new = state.reissue(CouponSpec(campaign_id="c", external_id="e"), inherit={"person", "sku"})
    assert new.person == person
    assert new.sku == "S"
    assert new.meta_data == {}
    assert state.coupon_by_external_id("c", "e") is new
    assert state.coupons[old.id] is old


def test_demo_seed_has_one_coupon_in_each_state() -> None:
    """The demo holds an unredeemed, a redeemed (yesterday) and an expired coupon."""
    clock = Clock()
    state = SandboxState(clock=clock)
    state.seed_demo()
    unredeemed = state.coupon_by_external_id(DEMO.campaign_id, DEMO.unredeemed)
    redeemed = state.coupon_by_external_id(DEMO.campaign_id, DEMO.redeemed)
    expired = state.coupon_by_external_id(DEMO.campaign_id, DEMO.expired)
    assert unredeemed is not None
    assert redeemed is not None
    assert expired is not None
    assert unredeemed.status == "UNREDEEMED"
    assert unredeemed.person is not None
    assert unredeemed.person.display_name == "Alex Member"
    assert redeemed.status == "REDEEMED"
    assert redeemed.redemption.redemption_date == START - timedelta(days=1)
    assert expired.expired_at(START)
    assert state.coupon_by_external_id(DEMO.campaign_id, DEMO.unknown) is None


def test_demo_offer_is_open_now() -> None:
    """The demo offer's window is open at seeding time."""
    state = SandboxState()
    state.seed_demo()
    assert state.offers[DEMO.offer_id].redeemable_at(datetime.now(UTC))
