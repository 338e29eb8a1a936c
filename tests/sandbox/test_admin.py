"""The `/_sandbox/` admin API: making coupons, offers and campaigns, reissuing, listing, reset."""

from __future__ import annotations

import httpx
from resolver_sandbox import DEMO, OFFERS, SandboxState, create_sandbox_app
from resolver_sandbox.testing import coupon_path, passkit_headers

# The demo offers showing hosted-page settings, one coupon each.
DEMO_OFFERS = (
    OFFERS.fixed_code,
    OFFERS.cashier_code,
    OFFERS.merchant_texts,
    OFFERS.paused,
    OFFERS.after_days,
)


async def read(client: httpx.AsyncClient, campaign_id: str, external_id: str) -> httpx.Response:
    """The PassKit read of the coupon holding `external_id`."""
    return await client.get(coupon_path(campaign_id, external_id), headers=passkit_headers())


async def test_create_coupon_answers_it_whole(client: httpx.AsyncClient) -> None:
    """Creating one coupon answers 201 with the coupon as PassKit renders it."""
    body = {
        "campaignId": "c",
        "externalId": "e1",
        "expiryDate": "2099-01-01T00:00:00Z",
        "person": {"forename": "Kim", "displayName": "Kim K"},
        "sku": "SKU-1",
        "metaData": {"tier": "gold"},
    }
    response = await client.post("/_sandbox/coupons", json=body)
    assert response.status_code == 201
    coupon = response.json()
    assert coupon["status"] == "UNREDEEMED"
    assert coupon["expiryDate"] == "2099-01-01T00:00:00Z"
    assert coupon["person"]["forename"] == "Kim"
    assert coupon["person"]["displayName"] == "Kim K"
    assert coupon["sku"] == "SKU-1"
    assert coupon["metaData"] == {"tier": "gold"}
    assert (await read(client, "c", "e1")).json() == coupon


async def test_create_coupon_makes_campaign_and_default_offer(client: httpx.AsyncClient) -> None:
    """A coupon in an unknown campaign brings the campaign and a default offer with it."""
    coupon = (
        await client.post("/_sandbox/coupons", json={"campaignId": "new", "externalId": "e"})
    ).json()
    headers = passkit_headers()
    offer = await client.get(f"/coupon/singleUse/offer/{coupon['offerId']}", headers=headers)
    campaign = await client.get("/coupon/singleUse/campaign/new", headers=headers)
    assert offer.status_code == 200
    assert offer.json()["campaignId"] == "new"
    assert campaign.status_code == 200


async def test_create_coupon_with_unknown_offer_makes_the_offer(client: httpx.AsyncClient) -> None:
    """Naming an offer that does not exist creates it under the coupon's campaign."""
    body = {"campaignId": "c", "externalId": "e", "offerId": "fresh-offer"}
    assert (await client.post("/_sandbox/coupons", json=body)).status_code == 201
    offer = await client.get("/coupon/singleUse/offer/fresh-offer", headers=passkit_headers())
    assert offer.json()["campaignId"] == "c"


async def test_create_redeemed_coupon_with_its_redemption_date(client: httpx.AsyncClient) -> None:
    """A coupon can be made already redeemed, at a given time."""
    body = {
        "campaignId": "c",
        "externalId": "done",
        "status": "REDEEMED",
        "redemptionDetails": {"redemptionDate": "2024-05-01T10:00:00Z", "redemptionCode": "X"},
    }
    coupon = (await client.post("/_sandbox/coupons", json=body)).json()
    assert coupon["status"] == "REDEEMED"
    assert coupon["redemptionDetails"]["redemptionDate"] == "2024-05-01T10:00:00Z"
    assert coupon["redemptionDetails"]["redemptionCode"] == "X"


async def test_create_coupon_for_taken_external_id_conflicts(client: httpx.AsyncClient) -> None:
    """A second coupon for an external id is refused with 409; reissue is the way."""
    body = {"campaignId": DEMO.campaign_id, "externalId": DEMO.unredeemed}
    response = await client.post("/_sandbox/coupons", json=body)
    assert response.status_code == 409
    assert response.json()["code"] == 6


async def test_create_coupon_rejects_unknown_fields(client: httpx.AsyncClient) -> None:
    """A misspelt field is refused with 400 instead of being silently ignored."""
    body = {"campaignId": "c", "externalId": "e", "expirydate": "2020-01-01T00:00:00Z"}
    response = await client.post("/_sandbox/coupons", json=body)
    assert response.status_code == 400
    assert "expirydate" in response.json()["message"]


async def test_create_coupon_needs_campaign_and_external_id(client: httpx.AsyncClient) -> None:
    """A coupon body without an external id is refused with 400 code 3."""
    response = await client.post("/_sandbox/coupons", json={"campaignId": "c"})
    assert response.status_code == 400
    assert response.json() == {"code": 3, "message": "externalId is required", "details": []}


async def test_create_coupon_with_bad_timestamp_is_refused(client: httpx.AsyncClient) -> None:
    """An expiry date without a time zone is refused rather than guessed."""
    body = {"campaignId": "c", "externalId": "e", "expiryDate": "2030-01-01T00:00:00"}
    response = await client.post("/_sandbox/coupons", json=body)
    assert response.status_code == 400


async def test_bulk_create_from_a_list(client: httpx.AsyncClient, state: SandboxState) -> None:
    """`{"coupons": [...]}` makes each coupon and answers their ids."""
    body = {"coupons": [{"campaignId": "c", "externalId": f"e{n}"} for n in range(3)]}
    response = await client.post("/_sandbox/coupons", json=body)
    assert response.status_code == 201
    made = response.json()
    assert made["count"] == 3
    assert [coupon["externalId"] for coupon in made["coupons"]] == ["e0", "e1", "e2"]
    assert all(coupon["id"] in state.coupons for coupon in made["coupons"])


async def test_bulk_create_from_a_count(client: httpx.AsyncClient) -> None:
    """`{"count": N, ...}` makes external ids P0..P{N-1} sharing the other fields."""
    body = {
        "count": 50,
        "campaignId": "load",
        "externalIdPrefix": "member-",
        "expiryDate": "2099-01-01T00:00:00Z",
    }
    response = await client.post("/_sandbox/coupons", json=body)
    assert response.status_code == 201
    assert response.json()["count"] == 50
    last = (await read(client, "load", "member-49")).json()
    assert last["expiryDate"] == "2099-01-01T00:00:00Z"
    assert (await read(client, "load", "member-50")).status_code == 404


async def test_bulk_create_is_all_or_nothing(
    client: httpx.AsyncClient, state: SandboxState
) -> None:
    """A batch with one conflicting coupon creates none of them."""
    before = len(state.coupons)
    body = {
        "coupons": [
            {"campaignId": "c", "externalId": "fresh"},
            {"campaignId": DEMO.campaign_id, "externalId": DEMO.unredeemed},
        ]
    }
    response = await client.post("/_sandbox/coupons", json=body)
    assert response.status_code == 409
    assert len(state.coupons) == before


async def test_bulk_count_must_be_reasonable(client: httpx.AsyncClient) -> None:
    """A negative or enormous count is refused."""
    for count in (-1, 10**9, "ten"):
        body = {"count": count, "campaignId": "c", "externalIdPrefix": "p"}
        assert (await client.post("/_sandbox/coupons", json=body)).status_code == 400


async def test_offer_can_be_created_and_replaced(client: httpx.AsyncClient) -> None:
    """Posting an offer creates it (201); posting it again replaces it (200)."""
    body = {
        "id": "o",
        "campaignId": "c",
        "offerTitle": "Half price",
        "offerShortTitle": "Half",
        "offerDetails": "Half price on any cake.",
        "offerFinePrint": "Today only.",
        "localizedOfferTitle": {"translations": {"fr": "Moitié prix"}},
        "ianaTimezone": "America/New_York",
        "redemptionSettings": {
            "redemptionStartDate": "2020-01-01T00:00:00Z",
            "redemptionType": ["REDEMPTION_TYPE_API"],
        },
    }
    created = await client.post("/_sandbox/offers", json=body)
    assert created.status_code == 201
    offer = created.json()
    assert offer["localizedOfferTitle"] == {"translations": {"fr": "Moitié prix"}}
    assert offer["ianaTimezone"] == "America/New_York"
    assert offer["redemptionSettings"] == {
        "redemptionStartDate": "2020-01-01T00:00:00Z",
        "redemptionEndDate": None,
        "redemptionType": ["REDEMPTION_TYPE_API"],
    }
    replaced = await client.post("/_sandbox/offers", json={**body, "offerTitle": "Free cake"})
    assert replaced.status_code == 200
    read_back = await client.get("/coupon/singleUse/offer/o", headers=passkit_headers())
    assert read_back.json()["offerTitle"] == "Free cake"


async def test_offer_without_timezone_is_utc(client: httpx.AsyncClient) -> None:
    """An offer posted without `ianaTimezone` gets UTC; an explicit "" stays empty."""
    utc = await client.post("/_sandbox/offers", json={"id": "o1", "campaignId": "c"})
    empty = await client.post(
        "/_sandbox/offers", json={"id": "o2", "campaignId": "c", "ianaTimezone": ""}
    )
    assert utc.json()["ianaTimezone"] == "UTC"
    assert empty.json()["ianaTimezone"] == ""


async def test_offer_cannot_move_to_another_campaign(client: httpx.AsyncClient) -> None:
    """An offer belongs to one campaign for good, as in PassKit."""
    body = {"id": DEMO.offer_id, "campaignId": "elsewhere"}
    response = await client.post("/_sandbox/offers", json=body)
    assert response.status_code == 400


async def test_campaign_can_be_named(client: httpx.AsyncClient) -> None:
    """Posting a campaign sets its name and time zone."""
    body = {"id": "spring", "name": "Spring promotion", "ianaTimezone": "Europe/Paris"}
    assert (await client.post("/_sandbox/campaigns", json=body)).status_code == 201
    campaign = await client.get("/coupon/singleUse/campaign/spring", headers=passkit_headers())
    assert campaign.json()["name"] == "Spring promotion"
    assert campaign.json()["ianaTimezone"] == "Europe/Paris"


async def test_reissue_gives_the_external_id_to_a_new_coupon(client: httpx.AsyncClient) -> None:
    """After reissue the external id reads as a new, unredeemed coupon with the same person."""
    old = (await read(client, DEMO.campaign_id, DEMO.redeemed)).json()
    response = await client.post(
        f"/_sandbox/coupons/{DEMO.campaign_id}/{DEMO.redeemed}/reissue",
        json={"expiryDate": "2099-01-01T00:00:00Z"},
    )
    assert response.status_code == 201
    new = (await read(client, DEMO.campaign_id, DEMO.redeemed)).json()
    assert new == response.json()
    assert new["id"] != old["id"]
    assert new["status"] == "UNREDEEMED"
    assert new["redemptionDetails"]["redemptionDate"] is None
    assert new["expiryDate"] == "2099-01-01T00:00:00Z"
    assert new["offerId"] == old["offerId"]
    assert new["person"] == old["person"]


async def test_reissued_coupon_stays_readable_by_id(client: httpx.AsyncClient) -> None:
    """The replaced coupon still reads by id, unchanged but for its invalidated pass."""
    old = (await read(client, DEMO.campaign_id, DEMO.redeemed)).json()
    await client.post(f"/_sandbox/coupons/{DEMO.campaign_id}/{DEMO.redeemed}/reissue")
    by_id = await client.get(f"/coupon/singleUse/coupon/{old['id']}", headers=passkit_headers())
    assert by_id.status_code == 200
    assert by_id.json()["status"] == "REDEEMED"
    assert by_id.json()["passMetaData"] == {"status": "PASS_INVALIDATED"}


async def test_reissue_can_change_the_offer(client: httpx.AsyncClient) -> None:
    """A reissue body can move the new coupon to another offer of the campaign."""
    await client.post("/_sandbox/offers", json={"id": "o2", "campaignId": DEMO.campaign_id})
    response = await client.post(
        f"/_sandbox/coupons/{DEMO.campaign_id}/{DEMO.unredeemed}/reissue",
        json={"offerId": "o2"},
    )
    assert response.json()["offerId"] == "o2"


async def test_reissue_of_unknown_external_id_is_not_found(client: httpx.AsyncClient) -> None:
    """Only an external id that has a coupon can be reissued."""
    response = await client.post(f"/_sandbox/coupons/{DEMO.campaign_id}/{DEMO.unknown}/reissue")
    assert response.status_code == 404


async def test_list_coupons_of_a_campaign(client: httpx.AsyncClient) -> None:
    """Listing with `?campaignId=` gives that campaign's coupons only."""
    await client.post("/_sandbox/coupons", json={"campaignId": "other", "externalId": "x"})
    everything = (await client.get("/_sandbox/coupons")).json()["coupons"]
    demo = (await client.get(f"/_sandbox/coupons?campaignId={DEMO.campaign_id}")).json()
    assert len(everything) == 4 + len(DEMO_OFFERS)
    assert {coupon["externalId"] for coupon in demo["coupons"]} == {
        DEMO.unredeemed,
        DEMO.redeemed,
        DEMO.expired,
        *DEMO_OFFERS,
    }


async def test_reset_restores_the_demo_seed(client: httpx.AsyncClient) -> None:
    """Reset undoes redemptions and drops added coupons."""
    await client.post("/_sandbox/coupons", json={"campaignId": "c", "externalId": "e"})
    body = {"externalId": DEMO.unredeemed, "campaignId": DEMO.campaign_id}
    await client.put("/coupon/singleUse/coupon/redeem", json=body, headers=passkit_headers())
    response = await client.post("/_sandbox/reset")
    demo_offers = len(DEMO_OFFERS)
    assert response.json() == {
        "campaigns": 1,
        "offers": 1 + demo_offers,
        "coupons": 3 + demo_offers,
    }
    coupon = (await read(client, DEMO.campaign_id, DEMO.unredeemed)).json()
    assert coupon["status"] == "UNREDEEMED"


async def test_reset_empty_leaves_nothing(client: httpx.AsyncClient) -> None:
    """`{"empty": true}` resets to no data at all."""
    response = await client.post("/_sandbox/reset", json={"empty": True})
    assert response.json() == {"campaigns": 0, "offers": 0, "coupons": 0}
    assert (await read(client, DEMO.campaign_id, DEMO.unredeemed)).status_code == 404


async def test_admin_body_must_be_a_json_object(client: httpx.AsyncClient) -> None:
    """A JSON list where an object belongs is refused with 400."""
    response = await client.post("/_sandbox/coupons", json=["not", "an", "object"])
    assert response.status_code == 400
    assert response.json()["message"] == "body must be a JSON object"


async def test_reset_also_calls_back_whoever_asked_to_forget_with_it() -> None:
    """`resolver serve`'s demo flushes its private Redis when the sandbox is reset."""
    calls: list[str] = []
    app = create_sandbox_app(SandboxState(), on_reset=lambda: calls.append("forget"))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox.test") as client:
        assert calls == []
        assert (await client.post("/_sandbox/reset", json={})).status_code == 200
    assert calls == ["forget"]
