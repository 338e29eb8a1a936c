"""The demo offers serve PassKit's offer settings as the resolver reads them: a fixed code with a
QR code and a countdown, a cashier's code, the merchant's texts in two languages, a paused offer."""

from __future__ import annotations

from typing import TYPE_CHECKING

from resolver_sandbox import DEMO, OFFERS
from resolver_sandbox.testing import coupon_path, passkit_headers

from resolver.domain.coupons import Offer
from resolver.domain.expiry import ExpiryType
from resolver.domain.hosted import Redeeming
from resolver.providers.passkit import parse_offer

if TYPE_CHECKING:
    import httpx


async def offer_of(client: httpx.AsyncClient, external_id: str) -> Offer:
    path = f"/coupon/singleUse/offer/{external_id}-offer"
    answer = await client.get(path, headers=passkit_headers())
    assert answer.status_code == 200
    return parse_offer(answer.json())


async def test_the_fixed_code_offer_shows_a_qr_code_with_a_countdown(
    client: httpx.AsyncClient,
) -> None:
    """Its fixed code, barcode type and timer reach the resolver."""
    hosted = (await offer_of(client, OFFERS.fixed_code)).hosted
    assert hosted.redeeming is Redeeming.FIXED_CODE
    assert (hosted.fixed_code, hosted.barcode, hosted.timer_seconds) == ("COFFEE-2026", "QR", 120)


async def test_the_cashier_code_offer_accepts_the_demo_code(client: httpx.AsyncClient) -> None:
    """Its one valid code is the one the banner prints."""
    hosted = (await offer_of(client, OFFERS.cashier_code)).hosted
    assert hosted.redeeming is Redeeming.CASHIER_CODE
    assert hosted.valid_codes == (OFFERS.valid_cashier_code,)
    assert hosted.texts["code_label"] == "Code from the barista"


async def test_the_merchant_texts_offer_speaks_english_and_french(
    client: httpx.AsyncClient,
) -> None:
    """Its after-redeem text has a French twin."""
    hosted = (await offer_of(client, OFFERS.merchant_texts)).hosted
    assert hosted.texts["after_redeem"].startswith("Enjoy your coffee")
    assert "FR" in hosted.translations["after_redeem"]


async def test_the_paused_offer_is_disabled(client: httpx.AsyncClient) -> None:
    """Switched off, not ended."""
    assert (await offer_of(client, OFFERS.paused)).disabled


async def test_the_after_days_offer_has_a_coupon_its_days_have_ended(
    client: httpx.AsyncClient,
) -> None:
    """A 30-day offer, and a coupon issued 31 days ago with no expiry date of its own."""
    offer = await offer_of(client, OFFERS.after_days)
    assert (offer.expiry_type, offer.expire_after_days) == (ExpiryType.AFTER_DAYS, 30)
    path = coupon_path(DEMO.campaign_id, OFFERS.after_days)
    coupon = (await client.get(path, headers=passkit_headers())).json()
    assert coupon["expiryDate"] is None
