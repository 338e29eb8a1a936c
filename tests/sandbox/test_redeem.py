"""Redeeming: the flip to REDEEMED, and every refusal PassKit would answer instead."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from resolver_sandbox import DEMO, SandboxState
from resolver_sandbox.testing import REDEEM_PATH, coupon_path, passkit_headers

if TYPE_CHECKING:
    import httpx

DETAILS = {
    "redemptionCode": "1234",
    "lat": 51.5,
    "lon": -0.12,
    "alt": 11,
    "redemptionSource": "resolver 0.1.0",
    "redemptionReference": "store 7, till 2",
    "transactionReference": "T-99",
    "transactionAmount": 4.5,
    "metaData": {"staff": "kim"},
}


def redeem_body(external_id: str, campaign_id: str = DEMO.campaign_id) -> dict[str, object]:
    """A redeem body naming a coupon by external id."""
    return {"externalId": external_id, "campaignId": campaign_id}


def iso(moment: datetime) -> str:
    """`moment` as an RFC 3339 string."""
    return moment.isoformat().replace("+00:00", "Z")


async def redeem(client: httpx.AsyncClient, body: dict[str, object]) -> httpx.Response:
    """A redeem call with valid credentials."""
    return await client.put(REDEEM_PATH, json=body, headers=passkit_headers())


async def make_coupon(client: httpx.AsyncClient, **fields: object) -> dict[str, object]:
    """A coupon made through the admin API in campaign "c"."""
    response = await client.post("/_sandbox/coupons", json={"campaignId": "c", **fields})
    assert response.status_code == 201, response.text
    coupon: dict[str, object] = response.json()
    return coupon


async def make_offer(client: httpx.AsyncClient, **fields: object) -> None:
    """An offer "o" in campaign "c", made through the admin API."""
    body = {"id": "o", "campaignId": "c", "offerTitle": "Test", **fields}
    response = await client.post("/_sandbox/offers", json=body)
    assert response.status_code in (200, 201), response.text


async def test_redeem_by_external_id_answers_the_coupon_id(
    client: httpx.AsyncClient, state: SandboxState
) -> None:
    """Redeeming an unredeemed coupon answers 200 with its id and flips it to REDEEMED."""
    coupon = state.coupon_by_external_id(DEMO.campaign_id, DEMO.unredeemed)
    assert coupon is not None
    response = await redeem(client, redeem_body(DEMO.unredeemed))
    assert response.status_code == 200
    assert response.json() == {"id": coupon.id}
    read = (
        await client.get(coupon_path(DEMO.campaign_id, DEMO.unredeemed), headers=passkit_headers())
    ).json()
    assert read["status"] == "REDEEMED"


async def test_redeem_by_coupon_id_flips_it(client: httpx.AsyncClient) -> None:
    """A coupon named by `{"id"}` is redeemed the same way."""
    coupon = await make_coupon(client, externalId="by-id")
    response = await redeem(client, {"id": coupon["id"]})
    assert response.status_code == 200
    read = (
        await client.get(f"/coupon/singleUse/coupon/{coupon['id']}", headers=passkit_headers())
    ).json()
    assert read["status"] == "REDEEMED"


async def test_redeem_keeps_details_and_sets_the_date(client: httpx.AsyncClient) -> None:
    """The redemption details sent are stored as sent, with `redemptionDate` set to now."""
    before = datetime.now(UTC)
    body = {**redeem_body(DEMO.unredeemed), "redemptionDetails": DETAILS}
    assert (await redeem(client, body)).status_code == 200
    read = (
        await client.get(coupon_path(DEMO.campaign_id, DEMO.unredeemed), headers=passkit_headers())
    ).json()
    details = read["redemptionDetails"]
    redeemed_at = datetime.fromisoformat(details.pop("redemptionDate"))
    assert details == DETAILS
    assert before - timedelta(seconds=1) <= redeemed_at <= datetime.now(UTC)


async def test_redeem_ignores_a_redemption_date_sent_by_the_caller(
    client: httpx.AsyncClient,
) -> None:
    """PassKit sets `redemptionDate` itself; a date in the request is dropped."""
    body = {
        **redeem_body(DEMO.unredeemed),
        "redemptionDetails": {"redemptionDate": "2001-01-01T00:00:00Z"},
    }
    assert (await redeem(client, body)).status_code == 200
    read = (
        await client.get(coupon_path(DEMO.campaign_id, DEMO.unredeemed), headers=passkit_headers())
    ).json()
    assert not read["redemptionDetails"]["redemptionDate"].startswith("2001")


async def test_second_redeem_is_refused_as_already_redeemed(client: httpx.AsyncClient) -> None:
    """Redeeming a redeemed coupon answers 400 code 9 and leaves the first redemption alone."""
    first = {**redeem_body(DEMO.unredeemed), "redemptionDetails": {"redemptionReference": "1st"}}
    second = {**redeem_body(DEMO.unredeemed), "redemptionDetails": {"redemptionReference": "2nd"}}
    assert (await redeem(client, first)).status_code == 200
    response = await redeem(client, second)
    assert response.status_code == 400
    assert response.json() == {"code": 9, "message": "coupon already redeemed", "details": []}
    read = (
        await client.get(coupon_path(DEMO.campaign_id, DEMO.unredeemed), headers=passkit_headers())
    ).json()
    assert read["redemptionDetails"]["redemptionReference"] == "1st"


async def test_seeded_redeemed_coupon_is_refused(client: httpx.AsyncClient) -> None:
    """The demo's redeemed coupon cannot be redeemed again."""
    response = await redeem(client, redeem_body(DEMO.redeemed))
    assert response.status_code == 400
    assert response.json()["message"] == "coupon already redeemed"


async def test_expired_coupon_is_refused(client: httpx.AsyncClient, state: SandboxState) -> None:
    """A coupon past its expiry date answers 400 code 9 "coupon expired" and stays unredeemed."""
    response = await redeem(client, redeem_body(DEMO.expired))
    assert response.status_code == 400
    assert response.json() == {"code": 9, "message": "coupon expired", "details": []}
    coupon = state.coupon_by_external_id(DEMO.campaign_id, DEMO.expired)
    assert coupon is not None
    assert coupon.status == "UNREDEEMED"


async def test_offer_window_not_open_yet_is_refused(client: httpx.AsyncClient) -> None:
    """Before the offer's redemptionStartDate the coupon counts as expired."""
    start = iso(datetime.now(UTC) + timedelta(days=1))
    await make_offer(client, redemptionSettings={"redemptionStartDate": start})
    await make_coupon(client, externalId="early", offerId="o")
    response = await redeem(client, redeem_body("early", "c"))
    assert response.status_code == 400
    assert response.json()["message"] == "coupon expired"


async def test_offer_window_closed_is_refused(client: httpx.AsyncClient) -> None:
    """After the offer's redemptionEndDate the coupon counts as expired."""
    end = iso(datetime.now(UTC) - timedelta(minutes=1))
    await make_offer(client, redemptionSettings={"redemptionEndDate": end})
    await make_coupon(client, externalId="late", offerId="o")
    response = await redeem(client, redeem_body("late", "c"))
    assert response.status_code == 400
    assert response.json()["message"] == "coupon expired"


async def test_open_offer_window_allows_redeem(client: httpx.AsyncClient) -> None:
    """Inside the offer's window the coupon redeems."""
    now = datetime.now(UTC)
    window = {
        "redemptionStartDate": iso(now - timedelta(days=1)),
        "redemptionEndDate": iso(now + timedelta(days=1)),
    }
    await make_offer(client, redemptionSettings=window)
    await make_coupon(client, externalId="in-window", offerId="o")
    assert (await redeem(client, redeem_body("in-window", "c"))).status_code == 200


async def test_disabled_offer_is_refused(client: httpx.AsyncClient) -> None:
    """A coupon of a disabled offer counts as expired."""
    await make_offer(client, disabled=True)
    await make_coupon(client, externalId="disabled", offerId="o")
    response = await redeem(client, redeem_body("disabled", "c"))
    assert response.status_code == 400
    assert response.json()["message"] == "coupon expired"


async def test_reenabled_offer_allows_redeem(client: httpx.AsyncClient) -> None:
    """Replacing a disabled offer with an enabled one makes its coupons redeemable again."""
    await make_offer(client, disabled=True)
    await make_coupon(client, externalId="back", offerId="o")
    await make_offer(client, disabled=False)
    assert (await redeem(client, redeem_body("back", "c"))).status_code == 200


async def test_unknown_coupon_is_not_found(client: httpx.AsyncClient) -> None:
    """Redeeming an external id no coupon holds answers 404 code 5."""
    response = await redeem(client, redeem_body(DEMO.unknown))
    assert response.status_code == 404
    assert response.json() == {"code": 5, "message": "coupon not found", "details": []}


async def test_body_that_is_not_json_is_invalid(client: httpx.AsyncClient) -> None:
    """A body that does not parse answers 400 code 3."""
    response = await client.put(REDEEM_PATH, content=b"{not json", headers=passkit_headers())
    assert response.status_code == 400
    assert response.json()["code"] == 3


async def test_body_without_identifier_is_invalid(client: httpx.AsyncClient) -> None:
    """A body naming no coupon (an external id without its campaign) answers 400 code 3."""
    response = await redeem(client, {"externalId": DEMO.unredeemed})
    assert response.status_code == 400
    assert response.json()["code"] == 3


async def test_details_of_the_wrong_type_are_invalid(client: httpx.AsyncClient) -> None:
    """A redemption detail of the wrong type answers 400 code 3 and redeems nothing."""
    body = {**redeem_body(DEMO.unredeemed), "redemptionDetails": {"lat": "north"}}
    response = await redeem(client, body)
    assert response.status_code == 400
    assert response.json()["message"] == "redemptionDetails.lat must be a number"


async def test_unknown_fields_are_dropped(client: httpx.AsyncClient) -> None:
    """Fields PassKit does not know are ignored, as grpc-gateway ignores them."""
    body = {**redeem_body(DEMO.unredeemed), "redemptionAmount": 3, "transactionId": "x"}
    assert (await redeem(client, body)).status_code == 200


async def test_concurrent_redeems_apply_exactly_once(
    client: httpx.AsyncClient, state: SandboxState
) -> None:
    """Of many simultaneous redeems of one coupon, exactly one is applied."""
    await client.put("/_sandbox/faults", json={"latencyMs": 5})
    responses = await asyncio.gather(
        *(redeem(client, redeem_body(DEMO.unredeemed)) for _ in range(20))
    )
    assert sorted(response.status_code for response in responses) == [200] + [400] * 19
    coupon = state.coupon_by_external_id(DEMO.campaign_id, DEMO.unredeemed)
    assert coupon is not None
    assert state.stats.redeems[coupon.id].applied == 1


async def test_invalidated_coupon_is_refused(client: httpx.AsyncClient) -> None:
    """A coupon whose pass was invalidated (voided) is refused with code 9."""
    coupon = await make_coupon(
        client, externalId="void", passMetaData={"status": "PASS_INVALIDATED"}
    )
    response = await redeem(client, {"id": coupon["id"]})
    assert response.status_code == 400
    assert response.json() == {"code": 9, "message": "coupon voided", "details": []}


async def test_a_coupon_past_its_offers_days_is_refused_as_expired(
    client: httpx.AsyncClient,
) -> None:
    """EXPIRE_AFTER_X_DAYS ends a coupon at 23:59:59 of its issue day + X days, in the offer's
    zone, whatever its own expiryDate says: issued 31 days ago on a 30-day offer, it is over."""
    await make_offer(
        client,
        ianaTimezone="Europe/Paris",
        couponExpirySettings={"couponExpiryType": "EXPIRE_AFTER_X_DAYS", "expireAfterXDays": 30},
    )
    issued = iso(datetime.now(UTC) - timedelta(days=31))
    await make_coupon(client, externalId="old", offerId="o", created=issued)
    await make_coupon(client, externalId="new", offerId="o")
    response = await redeem(client, redeem_body("old", "c"))
    assert response.json()["message"] == "coupon expired"
    assert (await redeem(client, redeem_body("new", "c"))).status_code == 200


async def test_an_offer_past_its_issue_end_date_expires_its_coupons_by_default(
    client: httpx.AsyncClient,
) -> None:
    """AUTO_EXPIRE_OFFER_END_DATE, PassKit's default: the offer's issueEndDate ends them."""
    await make_offer(client, issueEndDate=iso(datetime.now(UTC) - timedelta(hours=1)))
    await make_coupon(client, externalId="late", offerId="o")
    response = await redeem(client, redeem_body("late", "c"))
    assert response.json()["message"] == "coupon expired"


async def test_an_offer_renders_its_expiry_settings(client: httpx.AsyncClient) -> None:
    """couponExpirySettings and issueEndDate come back as PassKit renders them."""
    await make_offer(
        client,
        couponExpirySettings={"couponExpiryType": "EXPIRE_AFTER_X_DAYS", "expireAfterXDays": 7},
    )
    offer = (await client.get("/coupon/singleUse/offer/o", headers=passkit_headers())).json()
    assert offer["couponExpirySettings"] == {
        "couponExpiryType": "EXPIRE_AFTER_X_DAYS",
        "expireAfterXDays": 7,
    }
    assert offer["issueEndDate"] is None
