"""Call statistics: per endpoint, per status and per coupon, for exactly-once assertions."""

from __future__ import annotations

from typing import TYPE_CHECKING

from resolver_sandbox import DEMO, SandboxState
from resolver_sandbox.testing import REDEEM_PATH, coupon_path, passkit_headers

if TYPE_CHECKING:
    import httpx

BY_EXTERNAL_ID = "GET /coupon/singleUse/coupon/externalId/{campaignId}/{externalId}"
REDEEM = "PUT /coupon/singleUse/coupon/redeem"


async def redeem(client: httpx.AsyncClient, external_id: str) -> httpx.Response:
    """A redeem call naming a demo coupon by external id."""
    body = {"externalId": external_id, "campaignId": DEMO.campaign_id}
    return await client.put(REDEEM_PATH, json=body, headers=passkit_headers())


def coupon_id(state: SandboxState, external_id: str) -> str:
    """The id of the demo coupon holding `external_id`."""
    coupon = state.coupon_by_external_id(DEMO.campaign_id, external_id)
    assert coupon is not None
    return coupon.id


async def stats(client: httpx.AsyncClient) -> dict[str, object]:
    """The sandbox's call statistics."""
    response = await client.get("/_sandbox/stats")
    assert response.status_code == 200
    body: dict[str, object] = response.json()
    return body


async def test_fresh_sandbox_has_no_calls(client: httpx.AsyncClient) -> None:
    """Before any PassKit call every count is empty."""
    assert await stats(client) == {
        "calls": 0,
        "endpoints": {},
        "statuses": {},
        "coupons": {},
        "unmatchedRedeems": 0,
    }


async def test_calls_are_counted_per_endpoint_and_status(client: httpx.AsyncClient) -> None:
    """Each PassKit call counts under its route template and its answer's status."""
    headers = passkit_headers()
    await client.get(coupon_path(DEMO.campaign_id, DEMO.unredeemed), headers=headers)
    await client.get(coupon_path(DEMO.campaign_id, DEMO.unknown), headers=headers)
    await client.get(coupon_path(DEMO.campaign_id, DEMO.expired))
    await redeem(client, DEMO.unredeemed)
    counted = await stats(client)
    assert counted["calls"] == 4
    assert counted["endpoints"] == {BY_EXTERNAL_ID: 3, REDEEM: 1}
    assert counted["statuses"] == {"200": 2, "401": 1, "404": 1}


async def test_admin_calls_are_not_counted(client: httpx.AsyncClient) -> None:
    """Only PassKit calls count; the admin API's own calls do not."""
    await client.post("/_sandbox/coupons", json={"campaignId": "c", "externalId": "e"})
    await client.get("/_sandbox/coupons")
    assert (await stats(client))["calls"] == 0


async def test_redeem_calls_are_counted_per_coupon_refused_ones_included(
    client: httpx.AsyncClient, state: SandboxState
) -> None:
    """Two redeems of one coupon count twice, once applied; an expired one counts unapplied."""
    await redeem(client, DEMO.unredeemed)
    await redeem(client, DEMO.unredeemed)
    await redeem(client, DEMO.expired)
    coupons = (await stats(client))["coupons"]
    assert coupons == {
        coupon_id(state, DEMO.unredeemed): {
            "api": "passkit",
            "campaignId": DEMO.campaign_id,
            "externalId": DEMO.unredeemed,
            "count": 2,
            "applied": 1,
        },
        coupon_id(state, DEMO.expired): {
            "api": "passkit",
            "campaignId": DEMO.campaign_id,
            "externalId": DEMO.expired,
            "count": 1,
            "applied": 0,
        },
    }


async def test_redeem_calls_hit_by_faults_are_counted(
    client: httpx.AsyncClient, state: SandboxState
) -> None:
    """A redeem answered 503 by a fault still counts as a call the coupon received."""
    await client.put("/_sandbox/faults", json={"errorRate": 1.0})
    assert (await redeem(client, DEMO.unredeemed)).status_code == 503
    tally = state.stats.redeems[coupon_id(state, DEMO.unredeemed)]
    assert (tally.count, tally.applied) == (1, 0)


async def test_redeems_of_unknown_coupons_are_counted_apart(client: httpx.AsyncClient) -> None:
    """A redeem naming no coupon counts under `unmatchedRedeems`."""
    await redeem(client, DEMO.unknown)
    counted = await stats(client)
    assert counted["unmatchedRedeems"] == 1
    assert counted["coupons"] == {}


async def test_reset_zeroes_the_stats(client: httpx.AsyncClient) -> None:
    """Reset forgets every count."""
    await redeem(client, DEMO.unredeemed)
    await client.post("/_sandbox/reset")
    assert (await stats(client))["calls"] == 0
