"""The PassKit provider: paths, shapes, lenient parsing and how failures are classified."""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx
import pytest
import respx

from resolver.domain.coupons import Link
from resolver.domain.errors import (
    UpstreamAuthError,
    UpstreamBadAnswer,
    UpstreamConnectionLost,
    UpstreamRejected,
    UpstreamTimeout,
    UpstreamUnreachable,
)
from resolver.domain.expiry import ExpiryType
from resolver.domain.hosted import Redeeming
from resolver.domain.redemptions import RedeemDetails
from resolver.providers.passkit import PassKit, error_message, parse_coupon, parse_offer

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

BASE = "https://passkit.test"
LINK = Link("camp 1", "a+b@example.com")


@pytest.fixture
async def passkit() -> AsyncIterator[tuple[PassKit, respx.MockRouter]]:
    with respx.mock(base_url=BASE, assert_all_mocked=True) as router:
        async with httpx.AsyncClient(base_url=BASE) as client:
            yield PassKit(client), router


async def test_lookup_uses_campaign_then_external_id_percent_encoded(
    passkit: tuple[PassKit, respx.MockRouter],
) -> None:
    """GET /coupon/singleUse/coupon/externalId/{campaignId}/{externalId}, each segment encoded."""
    provider, router = passkit
    route = router.get("/coupon/singleUse/coupon/externalId/camp%201/a%2Bb%40example.com").respond(
        200, json={"id": "c1", "status": "UNREDEEMED", "offerId": "o1"}
    )
    coupon = await provider.lookup(LINK)
    assert route.called
    assert coupon is not None
    assert (coupon.id, coupon.status, coupon.offer_id) == ("c1", "UNREDEEMED", "o1")


async def test_lookup_404_is_none(passkit: tuple[PassKit, respx.MockRouter]) -> None:
    """No coupon under that external id: None, not an error."""
    provider, router = passkit
    router.get(path__startswith="/coupon/singleUse/coupon/externalId/").respond(404, json={})
    assert await provider.lookup(LINK) is None


async def test_redeem_puts_the_link_and_details_and_returns_the_id(
    passkit: tuple[PassKit, respx.MockRouter],
) -> None:
    """PUT /coupon/singleUse/coupon/redeem with externalId, campaignId, redemptionDetails."""
    provider, router = passkit
    route = router.put("/coupon/singleUse/coupon/redeem").respond(200, json={"id": "c1"})
    details = RedeemDetails(
        source="resolver/1", reference="store 4", metadata={"k": "v"}, lat=51.5, lon=-0.12
    )
    assert (await provider.redeem(LINK, details)).coupon_id == "c1"
    body = route.calls.last.request.read()
    assert b'"externalId":"a+b@example.com"' in body.replace(b" ", b"")
    sent = httpx.Response(200, content=body).json()
    assert sent["redemptionDetails"] == {
        "redemptionSource": "resolver/1",
        "redemptionReference": "store 4",
        "metaData": {"k": "v"},
        "lat": 51.5,
        "lon": -0.12,
    }


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        (httpx.ConnectError("refused"), UpstreamUnreachable),
        (httpx.ConnectTimeout("slow"), UpstreamUnreachable),
        (httpx.PoolTimeout("busy"), UpstreamUnreachable),
        (httpx.ReadTimeout("slow"), UpstreamTimeout),
        (httpx.WriteTimeout("slow"), UpstreamTimeout),
        (httpx.RemoteProtocolError("reset"), UpstreamConnectionLost),
        (httpx.Response(401, json={"message": "bad token"}), UpstreamAuthError),
        (httpx.Response(403, json={}), UpstreamAuthError),
        (httpx.Response(400, json={"message": "already"}), UpstreamRejected),
        (httpx.Response(404, json={}), UpstreamRejected),
        (httpx.Response(503, text="busy"), UpstreamRejected),
        (httpx.Response(200, text="not json"), UpstreamBadAnswer),
        (httpx.Response(200, json={"id": ""}), UpstreamBadAnswer),
    ],
)
async def test_redeem_failures_are_classified_for_the_use_case(
    passkit: tuple[PassKit, respx.MockRouter],
    answer: Exception | httpx.Response,
    error: type[Exception],
) -> None:
    """Only a request that never left is 'unreachable'; everything else must be read back."""
    provider, router = passkit
    router.put("/coupon/singleUse/coupon/redeem").mock(side_effect=[answer])
    with pytest.raises(error):
        await provider.redeem(LINK, RedeemDetails(source="t"))


@pytest.mark.parametrize(
    ("response", "message"),
    [
        (httpx.Response(400, json={"code": 9, "message": "m1", "details": []}), "m1"),
        (httpx.Response(400, json={"error": "e1"}), "e1"),
        (httpx.Response(500, text=" raw text "), "raw text"),
        (httpx.Response(502, text=""), "Bad Gateway"),
    ],
)
def test_error_messages_are_read_leniently(response: httpx.Response, message: str) -> None:
    """message, then the older error field, then the raw body."""
    assert error_message(response) == message


def test_a_coupon_is_parsed_leniently() -> None:
    """Zero timestamps are unset, names fall back to forename + surname, voided is noticed."""
    coupon = parse_coupon(
        {
            "id": "c1",
            "status": "REDEEMED",
            "expiryDate": "0001-01-01T00:00:00Z",
            "redemptionDetails": {"redemptionDate": "2026-01-02T03:04:05.123456789Z"},
            "person": {"forename": "Ada", "surname": "L"},
            "passMetaData": {"status": "PASS_INVALIDATED"},
        }
    )
    assert coupon.expiry_date is None
    assert coupon.redeemed_at is not None
    assert coupon.redeemed_at.year == 2026
    assert coupon.display_name == "Ada L"
    assert coupon.invalidated


def test_an_offer_is_parsed_with_its_window_and_translations() -> None:
    """Titles, time zone, redemption window, disabled flag and localized texts."""
    offer = parse_offer(
        {
            "id": "o1",
            "offerTitle": "Coffee",
            "ianaTimezone": "Europe/Berlin",
            "redemptionSettings": {"redemptionEndDate": "2030-01-01T00:00:00Z"},
            "disabled": True,
            "localizedOfferTitle": {"translations": {"fr": "Café"}},
        }
    )
    assert offer.title == "Coffee"
    assert offer.timezone == "Europe/Berlin"
    assert offer.ends is not None
    assert offer.disabled
    assert offer.translations == {"title": {"fr": "Café"}}


def test_an_offers_hosted_page_settings_are_read() -> None:
    """Redemption type, fixed code, timer, barcode, cashier codes and every text with its
    localized twin come from `redemptionSettings` under PassKit's own field names."""
    settings = {
        "redemptionType": [
            "REDEMPTION_TYPE_API",
            "REDEMPTION_TYPE_CUSTOMER_INITIATED_CODE_FIXED",
        ],
        "fixedCodeSettings": {
            "fixedCode": " CAFE ",
            "barcode": "QR",
            "redemptionTimer": {
                "timeoutSeconds": 120,
                "timerHelpText": "Hurry",
                "localizedTimeHelpText": {"translations": {"FR": "Vite"}},
            },
        },
        "codeProvidedOnRedeemSettings": {
            "validCodes": ["1", 2, " 3 ", ""],
            "redemptionCodeInput": {"label": "Code", "validation": "[0-9]"},
        },
        "standardSettings": {
            "title": "T",
            "hideRedeemedDateTime": True,
            "callToActionButton": {"buttonText": "Go", "link": "https://x.example/"},
            "responseTexts": {
                "afterRedeemText": "Thanks",
                "localizedAfterRedeemText": {"translations": {"de": "Danke", "it": " "}},
            },
        },
    }
    hosted = parse_offer({"id": "o", "redemptionSettings": settings}).hosted
    assert hosted.redeeming is Redeeming.FIXED_CODE
    assert (hosted.fixed_code, hosted.barcode, hosted.timer_seconds) == ("CAFE", "QR", 120)
    assert hosted.valid_codes == ("1", "3")
    assert hosted.code_pattern == "[0-9]"
    assert hosted.hide_redeemed_time
    assert hosted.texts["after_redeem"] == "Thanks"
    assert hosted.texts["cta_link"] == "https://x.example/"
    assert hosted.translations["after_redeem"] == {"de": "Danke"}
    assert hosted.translations["timer_help"] == {"FR": "Vite"}


def test_a_cashier_code_type_wins_over_a_fixed_code() -> None:
    """With both customer-initiated code types listed, the cashier's code is asked for."""
    types = [
        "REDEMPTION_TYPE_CUSTOMER_INITIATED_CODE_FIXED",
        "REDEMPTION_TYPE_CUSTOMER_INITIATED_CODE_PROVIDED_ON_REDEEM",
    ]
    offer = parse_offer({"id": "o", "redemptionSettings": {"redemptionType": types}})
    assert offer.hosted.redeeming is Redeeming.CASHIER_CODE
    assert parse_offer({"id": "o"}).hosted.redeeming is Redeeming.TAP


def test_an_offers_expiry_settings_and_issue_dates_are_read() -> None:
    """The expiry type and days, the issue end, and a redemption window defaulting to the
    issue dates."""
    offer = parse_offer(
        {
            "id": "o",
            "issueStartDate": "2026-01-01T00:00:00Z",
            "issueEndDate": "2026-12-31T00:00:00Z",
            "couponExpirySettings": {
                "couponExpiryType": "EXPIRE_AFTER_X_DAYS",
                "expireAfterXDays": "30",
            },
        }
    )
    assert offer.expiry_type is ExpiryType.AFTER_DAYS
    assert offer.expire_after_days == 30
    assert offer.issue_ends == offer.ends
    assert offer.starts is not None
    assert offer.starts.year == 2026
