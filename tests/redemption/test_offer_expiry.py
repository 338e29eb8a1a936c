"""The offer's own settings on every path of the use case: expiry computed from the offer, a
switched-off offer, and a refusal that only a fresh look at the offer explains."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from resolver.domain.coupons import CouponState, Link
from resolver.domain.redemptions import Outcome
from resolver.redemption import Redemptions
from tests.support.passkit import PassKitDouble, rfc3339

LINK = Link("camp-1", "member-1")
DAY = timedelta(days=1)


def thirty_day_offer(passkit: PassKitDouble) -> None:
    passkit.add_offer(
        "offer-1",
        couponExpirySettings={"couponExpiryType": "EXPIRE_AFTER_X_DAYS", "expireAfterXDays": 30},
    )


async def test_a_coupon_past_its_offers_days_previews_as_expired(
    redemptions: Redemptions, passkit: PassKitDouble
) -> None:
    """With no expiryDate on the coupon, 31 days after issue on a 30-day offer is expired."""
    thirty_day_offer(passkit)
    passkit.add("member-1", issued=datetime.now(UTC) - 32 * DAY)
    preview = await redemptions.preview(LINK, with_form_token=True)
    assert preview.state is CouponState.EXPIRED
    assert preview.form_token is None


async def test_a_coupon_within_its_offers_days_previews_as_redeemable(
    redemptions: Redemptions, passkit: PassKitDouble
) -> None:
    """Ten days after issue on a 30-day offer the coupon can be redeemed."""
    thirty_day_offer(passkit)
    passkit.add("member-1", issued=datetime.now(UTC) - 10 * DAY)
    preview = await redemptions.preview(LINK, with_form_token=True)
    assert preview.state is CouponState.REDEEMABLE


async def test_a_coupon_past_the_offers_end_is_expired_when_redeemed_by_api(
    redemptions: Redemptions, passkit: PassKitDouble
) -> None:
    """The default type: the offer's issue end passed, PassKit refuses, the read-back explains."""
    passkit.add_offer("offer-1", issueEndDate=rfc3339(datetime.now(UTC) - DAY))
    passkit.add("member-1")
    result = await redemptions.redeem(LINK)
    assert result.outcome is Outcome.EXPIRED


async def test_a_disabled_offer_is_not_available_rather_than_expired(
    redemptions: Redemptions, passkit: PassKitDouble
) -> None:
    """A switched-off offer previews as not available, and a redeem says so too."""
    passkit.add_offer("offer-1", disabled=True)
    passkit.add("member-1")
    preview = await redemptions.preview(LINK, with_form_token=True)
    assert preview.state is CouponState.OFFER_UNAVAILABLE
    result = await redemptions.redeem(LINK)
    assert result.outcome is Outcome.OFFER_UNAVAILABLE
    assert passkit.coupon("member-1")["status"] == "UNREDEEMED"


async def test_a_refusal_the_cached_offer_cannot_explain_reads_the_offer_again(
    redemptions: Redemptions, passkit: PassKitDouble
) -> None:
    """The offer was cached while on, then switched off: PassKit refuses, the coupon still looks
    redeemable, and a fresh read of the offer (past the cache) settles it as not available."""
    passkit.add("member-1")
    assert (await redemptions.preview(LINK, with_form_token=True)).state is CouponState.REDEEMABLE
    passkit.offers["offer-1"]["disabled"] = True
    result = await redemptions.redeem(LINK)
    assert result.outcome is Outcome.OFFER_UNAVAILABLE
    assert passkit.router.routes["offer"].call_count == 2
    # The cache now holds the fresh offer: the next preview says the same without asking.
    preview = await redemptions.preview(LINK, with_form_token=True)
    assert preview.state is CouponState.OFFER_UNAVAILABLE
    assert passkit.router.routes["offer"].call_count == 2
