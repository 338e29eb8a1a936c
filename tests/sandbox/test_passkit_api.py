"""The PassKit read endpoints: paths, JSON shapes and the errors grpc-gateway would give."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pytest
from resolver_sandbox import DEMO, SandboxState, sandbox_state
from resolver_sandbox.testing import REDEEM_PATH, coupon_path, passkit_headers

if TYPE_CHECKING:
    import httpx
    from starlette.applications import Starlette

RFC3339_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3}|\.\d{6})?Z$")
COUPON_FIELDS = {
    "id",
    "externalId",
    "offerId",
    "campaignId",
    "person",
    "metaData",
    "sku",
    "optOut",
    "status",
    "expiryDate",
    "redemptionDetails",
    "passOverrides",
    "passMetaData",
    "created",
    "updated",
}


async def test_coupon_by_external_id_has_passkit_shape(client: httpx.AsyncClient) -> None:
    """The demo coupon reads back with PassKit's lowerCamel fields and string enums."""
    response = await client.get(
        coupon_path(DEMO.campaign_id, DEMO.unredeemed), headers=passkit_headers()
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    coupon = response.json()
    assert set(coupon) == COUPON_FIELDS
    assert re.fullmatch(r"[A-Za-z0-9]{22}", coupon["id"])
    assert coupon["externalId"] == DEMO.unredeemed
    assert coupon["campaignId"] == DEMO.campaign_id
    assert coupon["offerId"] == DEMO.offer_id
    assert coupon["status"] == "UNREDEEMED"
    assert coupon["person"]["displayName"] == "Alex Member"
    assert coupon["passMetaData"] == {"status": "PASS_ISSUED"}


async def test_unredeemed_coupon_has_zero_valued_redemption_details(
    client: httpx.AsyncClient,
) -> None:
    """Unset redemption fields come back as zero values, the date as null."""
    coupon = (
        await client.get(coupon_path(DEMO.campaign_id, DEMO.unredeemed), headers=passkit_headers())
    ).json()
    assert coupon["redemptionDetails"] == {
        "redemptionDate": None,
        "redemptionCode": "",
        "lat": 0,
        "lon": 0,
        "alt": 0,
        "redemptionSource": "",
        "redemptionReference": "",
        "transactionReference": "",
        "transactionAmount": 0,
        "metaData": {},
    }


async def test_timestamps_are_rfc3339_utc(client: httpx.AsyncClient) -> None:
    """Every timestamp is RFC 3339 in UTC with a trailing "Z"."""
    coupon = (
        await client.get(coupon_path(DEMO.campaign_id, DEMO.redeemed), headers=passkit_headers())
    ).json()
    stamps = [
        coupon["created"],
        coupon["updated"],
        coupon["expiryDate"],
        coupon["redemptionDetails"]["redemptionDate"],
    ]
    assert all(RFC3339_UTC.match(stamp) for stamp in stamps), stamps


async def test_coupon_without_person_or_expiry_has_nulls(client: httpx.AsyncClient) -> None:
    """A coupon made without a person or expiry date shows both as null."""
    made = await client.post("/_sandbox/coupons", json={"campaignId": "c", "externalId": "e"})
    assert made.status_code == 201
    coupon = (await client.get(coupon_path("c", "e"), headers=passkit_headers())).json()
    assert coupon["person"] is None
    assert coupon["expiryDate"] is None


async def test_coupon_by_id_reads_the_same_coupon(client: httpx.AsyncClient) -> None:
    """Reading by PassKit id gives the coupon reading by external id gave."""
    by_external = (
        await client.get(coupon_path(DEMO.campaign_id, DEMO.unredeemed), headers=passkit_headers())
    ).json()
    response = await client.get(
        f"/coupon/singleUse/coupon/{by_external['id']}", headers=passkit_headers()
    )
    assert response.status_code == 200
    assert response.json() == by_external


async def test_unknown_external_id_is_not_found(client: httpx.AsyncClient) -> None:
    """An external id no coupon holds answers 404 with code 5."""
    response = await client.get(
        coupon_path(DEMO.campaign_id, DEMO.unknown), headers=passkit_headers()
    )
    assert response.status_code == 404
    assert response.json() == {"code": 5, "message": "coupon not found", "details": []}


async def test_external_id_is_looked_up_within_its_campaign(client: httpx.AsyncClient) -> None:
    """The same external id in another campaign is not found."""
    response = await client.get(
        coupon_path("other-campaign", DEMO.unredeemed), headers=passkit_headers()
    )
    assert response.status_code == 404


async def test_unknown_coupon_id_is_not_found(client: httpx.AsyncClient) -> None:
    """A coupon id the sandbox never issued answers 404."""
    response = await client.get(
        "/coupon/singleUse/coupon/AAAAAAAAAAAAAAAAAAAAAA", headers=passkit_headers()
    )
    assert response.status_code == 404
    assert response.json()["code"] == 5


async def test_offer_has_texts_translations_timezone_and_window(
    client: httpx.AsyncClient,
) -> None:
    """The demo offer carries what a redemption page shows, in PassKit's shape."""
    response = await client.get(
        f"/coupon/singleUse/offer/{DEMO.offer_id}", headers=passkit_headers()
    )
    assert response.status_code == 200
    offer = response.json()
    assert offer["id"] == DEMO.offer_id
    assert offer["campaignId"] == DEMO.campaign_id
    assert offer["offerTitle"] == "Free coffee"
    assert offer["offerShortTitle"] == "Free coffee"
    assert offer["offerDetails"]
    assert offer["offerFinePrint"]
    assert set(offer["localizedOfferTitle"]["translations"]) == {"fr", "de"}
    assert offer["localizedOfferDetails"]["translations"]["fr"]
    assert offer["localizedOfferFinePrint"]["translations"]["de"]
    assert offer["ianaTimezone"] == "Europe/London"
    assert RFC3339_UTC.match(offer["redemptionSettings"]["redemptionStartDate"])
    assert RFC3339_UTC.match(offer["redemptionSettings"]["redemptionEndDate"])
    assert offer["disabled"] is False


async def test_unknown_offer_is_not_found(client: httpx.AsyncClient) -> None:
    """An offer id that does not exist answers 404."""
    response = await client.get("/coupon/singleUse/offer/no-such-offer", headers=passkit_headers())
    assert response.status_code == 404
    assert response.json()["message"] == "offer not found"


async def test_campaign_has_id_and_name(client: httpx.AsyncClient) -> None:
    """The demo campaign reads back with its id, name and time zone."""
    response = await client.get(
        f"/coupon/singleUse/campaign/{DEMO.campaign_id}", headers=passkit_headers()
    )
    assert response.status_code == 200
    campaign = response.json()
    assert campaign["id"] == DEMO.campaign_id
    assert campaign["name"] == "Demo campaign"
    assert campaign["ianaTimezone"] == "Europe/London"


async def test_unknown_campaign_is_not_found(client: httpx.AsyncClient) -> None:
    """A campaign id that does not exist answers 404."""
    response = await client.get("/coupon/singleUse/campaign/nope", headers=passkit_headers())
    assert response.status_code == 404


@pytest.mark.parametrize("path", ["/nowhere", "/coupon/singleUse", "/coupon/singleUse/offer/x/"])
async def test_unknown_path_is_json_404(client: httpx.AsyncClient, path: str) -> None:
    """Paths that are no endpoint (a trailing slash included) answer a JSON 404."""
    response = await client.get(path, headers=passkit_headers())
    assert response.status_code == 404
    assert response.json() == {"code": 5, "message": "Not Found", "details": []}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", REDEEM_PATH),
        ("GET", "/_sandbox/reset"),
        ("DELETE", f"/coupon/singleUse/offer/{DEMO.offer_id}"),
        ("PUT", "/coupon/singleUse/coupon/some-id"),
    ],
)
async def test_wrong_verb_is_json_501(client: httpx.AsyncClient, method: str, path: str) -> None:
    """A real path called with the wrong verb answers 501, as grpc-gateway does."""
    response = await client.request(method, path, headers=passkit_headers())
    assert response.status_code == 501
    assert response.json() == {"code": 12, "message": "Method Not Allowed", "details": []}


async def test_get_on_redeem_path_reads_a_coupon_named_redeem(client: httpx.AsyncClient) -> None:
    """`GET .../coupon/redeem` matches the by-id read, as in grpc-gateway, and finds nothing."""
    response = await client.get(REDEEM_PATH, headers=passkit_headers())
    assert response.status_code == 404
    assert response.json()["message"] == "coupon not found"


def test_app_exposes_its_state(state: SandboxState, app: Starlette) -> None:
    """`app.state.sandbox`, and the typed `sandbox_state(app)`, are the state the app serves."""
    assert app.state.sandbox is state
    assert sandbox_state(app) is state
