"""The offer's hosted-page settings on the member's screens and in the API: "not available
right now", the merchant's texts in the member's language (with the catalogues as fallback),
the call-to-action button and the hidden redemption time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest

from tests.support.pages import assert_valid_html5, form_of
from tests.support.passkit import rfc3339

if TYPE_CHECKING:
    import httpx

    from tests.support.passkit import PassKitDouble

LINK = {"externalId": "member-1", "campaignId": "camp-1"}
DAY = timedelta(days=1)


def localized(text: str, **translations: str) -> dict[str, Any]:
    return {"translations": translations} if translations else {}


def merchant_offer(passkit: PassKitDouble, **fields: Any) -> None:
    """An offer with every hosted-page text set, in English with French and German twins."""
    responses = {
        "afterRedeemText": "Enjoy your coffee!",
        "localizedAfterRedeemText": localized("", FR="Bonne dégustation !", de_DE="Guten Genuss!"),
        "couponAlreadyRedeemedText": "You had this one already.",
        "localizedCouponAlreadyRedeemedText": localized("", fr="Déjà servi."),
        "offerExpiredText": "The coffee week is over.",
        "couponExpiredText": "Your coffee voucher ran out.",
        "localizedCouponExpiredText": localized("", fr="Votre bon a expiré."),
        "redeemConfirmationDialogBoxText": "Show this to the barista first.",
        "cancelRedeemText": "Not now",
    }
    standard = {
        "title": "Coffee week",
        "localizedTitle": localized("", fr="Semaine du café"),
        "redemptionInstructions": "Tap at the till.",
        "footerText": "Offer by Example Café.",
        "callToActionButton": {"buttonText": "See our menu", "link": "https://cafe.example/menu"},
        "responseTexts": responses,
    }
    settings = {"standardSettings": standard, **fields.pop("redemptionSettings", {})}
    passkit.add_offer("offer-1", redemptionSettings=settings, **fields)


async def test_a_disabled_offer_shows_not_available_right_now(
    client: httpx.AsyncClient, passkit: PassKitDouble
) -> None:
    """A switched-off offer is its own 409 page, not "expired", and offers no button."""
    passkit.add_offer("offer-1", disabled=True)
    passkit.add("member-1")
    page = await client.get("/redeem", params=LINK)
    assert page.status_code == 409
    assert "Not available right now" in page.text
    assert "expired" not in page.text
    assert "<form" not in page.text
    assert_valid_html5(page)


async def test_a_disabled_offer_is_translated(
    client: httpx.AsyncClient, passkit: PassKitDouble
) -> None:
    """The new state speaks the member's language from the catalogues."""
    passkit.add_offer("offer-1", disabled=True)
    passkit.add("member-1")
    page = await client.get("/redeem", params={**LINK, "lang": "de"})
    assert "Derzeit nicht verfügbar" in page.text


async def test_an_offer_not_open_yet_is_not_available(
    client: httpx.AsyncClient, passkit: PassKitDouble
) -> None:
    """Before the redemption window opens the coupon is not available, not expired."""
    start = rfc3339(datetime.now(UTC) + DAY)
    passkit.add_offer("offer-1", redemptionSettings={"redemptionStartDate": start})
    passkit.add("member-1")
    page = await client.get("/redeem", params=LINK)
    assert page.status_code == 409
    assert "Not available right now" in page.text


async def test_the_api_says_offer_unavailable_for_a_disabled_offer(
    client: httpx.AsyncClient, passkit: PassKitDouble
) -> None:
    """POST /api/v1/redeem answers 409 `offer_unavailable`; the coupon stays unused."""
    passkit.add_offer("offer-1", disabled=True)
    passkit.add("member-1")
    answer = await client.post("/api/v1/redeem", json=LINK)
    assert answer.status_code == 409
    assert answer.json()["outcome"] == "offer_unavailable"
    assert passkit.coupon("member-1")["status"] == "UNREDEEMED"


async def test_a_coupon_past_its_offers_days_shows_expired_with_the_date(
    client: httpx.AsyncClient, passkit: PassKitDouble
) -> None:
    """EXPIRE_AFTER_X_DAYS: the coupon has no expiryDate, the page still knows it expired."""
    passkit.add_offer(
        "offer-1",
        couponExpirySettings={"couponExpiryType": "EXPIRE_AFTER_X_DAYS", "expireAfterXDays": 3},
    )
    passkit.add("member-1", issued=datetime(2026, 1, 10, 9, tzinfo=UTC))
    page = await client.get("/redeem", params=LINK)
    assert page.status_code == 410
    assert "It expired on" in page.text
    assert "January 13, 2026" in page.text


async def test_the_confirm_screen_shows_the_offers_own_validity(
    client: httpx.AsyncClient, passkit: PassKitDouble
) -> None:
    """The "Valid until" line is the effective expiry, computed from the offer."""
    issued = datetime.now(UTC) - DAY
    passkit.add_offer(
        "offer-1",
        couponExpirySettings={"couponExpiryType": "EXPIRE_AFTER_X_DAYS", "expireAfterXDays": 30},
    )
    passkit.add("member-1", issued=issued)
    page = await client.get("/redeem", params=LINK)
    assert page.status_code == 200
    assert "Valid until" in page.text


async def test_the_confirm_screen_shows_the_merchants_texts(
    client: httpx.AsyncClient, passkit: PassKitDouble
) -> None:
    """Title, instructions, the confirmation text and the footer, as the merchant set them."""
    merchant_offer(passkit)
    passkit.add("member-1")
    page = await client.get("/redeem", params=LINK)
    for text in (
        "Coffee week",
        "Tap at the till.",
        "Show this to the barista first.",
        "Offer by Example Café.",
    ):
        assert text in page.text
    assert_valid_html5(page)


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        ("fr", "Bonne dégustation !"),  # PassKit's upper-case key
        ("de", "Guten Genuss!"),  # a regional key for the bare language
        ("nl", "Enjoy your coffee!"),  # no Dutch twin: the merchant's own text
    ],
)
async def test_the_after_redeem_text_is_in_the_members_language(
    client: httpx.AsyncClient, passkit: PassKitDouble, lang: str, expected: str
) -> None:
    """The success screen says the merchant's after-redeem text in the member's language, and
    carries the call-to-action button."""
    merchant_offer(passkit)
    passkit.add("member-1")
    confirm = await client.get("/redeem", params={**LINK, "lang": lang})
    done = await client.post("/redeem", data=form_of(confirm), follow_redirects=True)
    assert done.status_code == 200
    assert expected in done.text
    assert 'href="https://cafe.example/menu"' in done.text


async def test_the_already_redeemed_text_replaces_the_services_own(
    client: httpx.AsyncClient, passkit: PassKitDouble
) -> None:
    """The merchant's already-redeemed text in French; the redemption time still shows."""
    merchant_offer(passkit)
    passkit.add("member-1", status="REDEEMED", redeemed_at=datetime(2026, 3, 1, 9, 30, tzinfo=UTC))
    page = await client.get("/redeem", params={**LINK, "lang": "fr"})
    assert "Déjà servi." in page.text
    assert "2026-03-01T10:30:00+01:00" in page.text


async def test_hide_redeemed_date_time_hides_when(
    client: httpx.AsyncClient, passkit: PassKitDouble
) -> None:
    """`hideRedeemedDateTime`: the already-redeemed screen says so without the date or time."""
    passkit.add_offer(
        "offer-1", redemptionSettings={"standardSettings": {"hideRedeemedDateTime": True}}
    )
    passkit.add("member-1", status="REDEEMED", redeemed_at=datetime(2026, 3, 1, 9, 30, tzinfo=UTC))
    page = await client.get("/redeem", params=LINK)
    assert "This coupon was already redeemed." in page.text
    assert "2026-03-01" not in page.text


async def test_a_coupon_expired_by_itself_gets_the_coupon_expired_text(
    client: httpx.AsyncClient, passkit: PassKitDouble
) -> None:
    """The coupon's own date passed while the offer runs: the coupon-expired text."""
    merchant_offer(passkit)
    passkit.add_expired("member-1")
    page = await client.get("/redeem", params={**LINK, "lang": "fr"})
    assert page.status_code == 410
    assert "Votre bon a expiré." in page.text
    assert "The coffee week is over." not in page.text


async def test_an_ended_offer_gets_the_offer_expired_text(
    client: httpx.AsyncClient, passkit: PassKitDouble
) -> None:
    """The offer ended: the offer-expired text, in English for want of a French twin."""
    merchant_offer(passkit, issueEndDate=rfc3339(datetime.now(UTC) - DAY))
    passkit.add("member-1")
    page = await client.get("/redeem", params={**LINK, "lang": "fr"})
    assert page.status_code == 410
    assert "The coffee week is over." in page.text


async def test_without_merchant_texts_the_catalogues_speak(
    client: httpx.AsyncClient, passkit: PassKitDouble
) -> None:
    """An offer with no texts leaves the service's own, translated."""
    passkit.add_expired("member-1")
    page = await client.get("/redeem", params={**LINK, "lang": "fr"})
    assert "Il ne peut plus être utilisé." in page.text


async def test_merchant_texts_are_escaped_and_links_must_be_http(
    client: httpx.AsyncClient, passkit: PassKitDouble
) -> None:
    """Markup in a merchant text is shown as text; a `javascript:` link gives no button."""
    passkit.add_offer(
        "offer-1",
        redemptionSettings={
            "standardSettings": {
                "title": "<script>alert(1)</script>",
                "callToActionButton": {"buttonText": "Click", "link": "javascript:alert(1)"},
                "responseTexts": {"couponExpiredText": "<b>gone</b>"},
            }
        },
    )
    passkit.add_expired("member-1")
    page = await client.get("/redeem", params=LINK)
    assert "<script>alert(1)" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert "&lt;b&gt;gone&lt;/b&gt;" in page.text
    assert "javascript:" not in page.text
    assert ">Click<" not in page.text


async def test_a_hidden_call_to_action_is_not_shown(
    client: httpx.AsyncClient, passkit: PassKitDouble
) -> None:
    """`hideCallToActionButton` hides a configured button."""
    button = {"buttonText": "Menu", "link": "https://cafe.example/", "hideCallToActionButton": True}
    passkit.add_offer(
        "offer-1", redemptionSettings={"standardSettings": {"callToActionButton": button}}
    )
    passkit.add_expired("member-1")
    page = await client.get("/redeem", params=LINK)
    assert "cafe.example" not in page.text
