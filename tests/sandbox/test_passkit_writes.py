"""The PassKit calls that create and void coupons, list offers, and PassKit's other region."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from resolver_sandbox import DEMO
from resolver_sandbox.testing import coupon_path, passkit_headers

if TYPE_CHECKING:
    import httpx
    from resolver_sandbox import SandboxState

COUPON = "/coupon/singleUse/coupon"


async def create(client: httpx.AsyncClient, **fields: object) -> httpx.Response:
    body = {"campaignId": DEMO.campaign_id, "offerId": DEMO.offer_id, **fields}
    return await client.post(COUPON, json=body, headers=passkit_headers())


async def test_create_coupon_answers_its_id_and_it_reads_back(client: httpx.AsyncClient) -> None:
    """A created coupon answers `{"id"}` and reads back unredeemed by its external id."""
    response = await create(client, externalId="probe-1", sku="SKU1")
    assert response.status_code == 200
    coupon_id = response.json()["id"]
    read = await client.get(coupon_path(DEMO.campaign_id, "probe-1"), headers=passkit_headers())
    assert read.json()["id"] == coupon_id
    assert read.json()["status"] == "UNREDEEMED"
    assert read.json()["sku"] == "SKU1"


async def test_create_coupon_for_a_held_external_id_is_a_conflict(
    client: httpx.AsyncClient,
) -> None:
    """An external id that already has a coupon answers 409 ALREADY_EXISTS."""
    response = await create(client, externalId=DEMO.unredeemed)
    assert response.status_code == 409
    assert response.json()["code"] == 6


async def test_create_coupon_needs_an_offer_of_the_campaign(client: httpx.AsyncClient) -> None:
    """An unknown offer answers 404; a missing offerId 400."""
    assert (await create(client, externalId="x", offerId="nope")).status_code == 404
    assert (await create(client, externalId="x", offerId="")).status_code == 400


async def test_create_coupon_with_bad_credentials_is_refused(client: httpx.AsyncClient) -> None:
    """A JWT signed with the wrong secret answers 401 and creates nothing."""
    headers = passkit_headers(api_secret="not-the-secret-of-this-account!!")
    response = await client.post(
        COUPON,
        json={"campaignId": DEMO.campaign_id, "offerId": DEMO.offer_id, "externalId": "x"},
        headers=headers,
    )
    assert response.status_code == 401
    assert response.json()["message"] == "bad signature"


async def test_void_frees_the_external_id_and_keeps_the_record(
    client: httpx.AsyncClient, state: SandboxState
) -> None:
    """A voided coupon is gone by external id, readable by id as PASS_INVALIDATED."""
    coupon_id = (await create(client, externalId="probe-2")).json()["id"]
    response = await client.request(
        "DELETE", COUPON, json={"id": coupon_id}, headers=passkit_headers()
    )
    assert response.status_code == 200
    assert response.json() == {}
    gone = await client.get(coupon_path(DEMO.campaign_id, "probe-2"), headers=passkit_headers())
    assert gone.status_code == 404
    kept = await client.get(f"{COUPON}/{coupon_id}", headers=passkit_headers())
    assert kept.json()["passMetaData"]["status"] == "PASS_INVALIDATED"
    assert state.coupon_by_external_id(DEMO.campaign_id, DEMO.unredeemed) is not None


async def test_void_of_an_unknown_coupon_is_not_found(client: httpx.AsyncClient) -> None:
    """Voiding a coupon that does not exist answers 404."""
    response = await client.request(
        "DELETE", COUPON, json={"id": "no-such-coupon"}, headers=passkit_headers()
    )
    assert response.status_code == 404


async def test_list_offers_streams_one_result_per_line(client: httpx.AsyncClient) -> None:
    """The campaign's offers come as grpc-gateway streams them: `{"result": …}` per line."""
    response = await client.post(
        "/coupon/singleUse/offers/list",
        json={"campaignId": DEMO.campaign_id, "filters": {"limit": -1}},
        headers=passkit_headers(),
    )
    assert response.status_code == 200
    lines = [json.loads(line) for line in response.text.splitlines()]
    offers = [line["result"]["id"] for line in lines]
    assert offers[0] == DEMO.offer_id
    assert len(offers) == len(set(offers)) > 1  # the demo's offer-settings showcases too


async def test_list_offers_of_an_unknown_campaign_is_not_found(client: httpx.AsyncClient) -> None:
    """Listing the offers of a campaign that does not exist answers 404."""
    response = await client.post(
        "/coupon/singleUse/offers/list", json={"campaignId": "nope"}, headers=passkit_headers()
    )
    assert response.status_code == 404


async def test_other_region_authenticates_and_finds_nothing(client: httpx.AsyncClient) -> None:
    """Under /_region/us/ the account's credentials work and every object is missing."""
    path = f"/_region/us/coupon/singleUse/campaign/{DEMO.campaign_id}"
    found = await client.get(path, headers=passkit_headers())
    assert found.status_code == 404
    refused = await client.get(path, headers=passkit_headers(api_key="someone-else"))
    assert refused.status_code == 401
