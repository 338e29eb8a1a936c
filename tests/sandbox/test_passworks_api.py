"""The simulated Passworks API: Basic auth, passes, a strict second redeem, 412 errors, faults."""

from __future__ import annotations

import base64

import httpx
from resolver_sandbox import DEMO, SandboxState
from resolver_sandbox.passworks_api import API_KEY, USERNAME

CAMPAIGN = DEMO.passworks_campaign
AUTH = {"Authorization": "Basic " + base64.b64encode(f"{USERNAME}:{API_KEY}".encode()).decode()}


def pass_path(external_id: str, campaign: str = CAMPAIGN) -> str:
    return f"/passworks/v2/coupons/{campaign}/passes/{external_id}"


async def test_wrong_credentials_get_rails_401(client: httpx.AsyncClient) -> None:
    """No or wrong Basic credentials: 401, nothing read."""
    assert (await client.get(pass_path(DEMO.unredeemed))).status_code == 401
    wrong = {"Authorization": "Basic " + base64.b64encode(b"sandbox:nope").decode()}
    response = await client.get(pass_path(DEMO.unredeemed), headers=wrong)
    assert (response.status_code, response.text.strip()) == (401, "HTTP Basic: Access denied.")


async def test_a_demo_pass_reads_as_passworks_shows_it(client: httpx.AsyncClient) -> None:
    """The demo seed's passes: unredeemed, and redeemed (counted and void)."""
    fresh = (await client.get(pass_path(DEMO.unredeemed), headers=AUTH)).json()
    assert (fresh["redeemed_count"], fresh["voided"]) == (0, False)
    used = (await client.get(pass_path(DEMO.redeemed), headers=AUTH)).json()
    assert (used["redeemed_count"], used["voided"]) == (1, True)


async def test_unknown_passes_and_campaigns_are_412_not_found(client: httpx.AsyncClient) -> None:
    """Passworks' documented error form, a map of field to message."""
    missing_pass = await client.get(pass_path("nobody"), headers=AUTH)
    assert (missing_pass.status_code, missing_pass.json()) == (
        412,
        {"errors": {"pass": "Pass not found."}},
    )
    missing_campaign = await client.get(pass_path("x", "no-campaign"), headers=AUTH)
    assert missing_campaign.json() == {"errors": {"campaign": "Campaign not found."}}


async def test_a_pass_redeems_once_and_is_refused_after(
    client: httpx.AsyncClient, state: SandboxState
) -> None:
    """Redeem counts and voids the pass; a second redeem is a 412; both are tallied."""
    path = pass_path(DEMO.unredeemed) + "/redeem"
    first = await client.post(path, json={"pass": {"comment": "till 1"}}, headers=AUTH)
    second = await client.post(path, headers=AUTH)
    assert (first.status_code, first.json()["redeemed_count"]) == (200, 1)
    assert (second.status_code, second.json()) == (
        412,
        {"errors": {"pass": "Pass already redeemed."}},
    )
    tally = (await client.get("/_sandbox/stats")).json()["coupons"][f"passworks:{DEMO.unredeemed}"]
    assert (tally["api"], tally["count"], tally["applied"]) == ("passworks", 2, 1)
    assert state.passworks.passes[CAMPAIGN, DEMO.unredeemed].comments == ["till 1"]


async def test_an_expired_pass_is_refused(client: httpx.AsyncClient) -> None:
    """Past its expiration_date a pass does not redeem."""
    response = await client.post(pass_path(DEMO.expired) + "/redeem", headers=AUTH)
    assert response.json() == {"errors": {"pass": "Pass expired."}}


async def test_reset_redeem_makes_the_pass_redeemable_again(client: httpx.AsyncClient) -> None:
    """The documented undo."""
    reset = await client.post(pass_path(DEMO.redeemed) + "/reset_redeem", headers=AUTH)
    assert (reset.json()["redeemed_count"], reset.json()["voided"]) == (0, False)


async def test_apply_then_fail_redeems_and_answers_500(
    client: httpx.AsyncClient, state: SandboxState
) -> None:
    """The shared fault: applied, but the answer is an error."""
    await client.put("/_sandbox/faults", json={"applyThenFail": True})
    response = await client.post(pass_path(DEMO.unredeemed) + "/redeem", headers=AUTH)
    assert response.status_code == 500
    assert state.passworks.passes[CAMPAIGN, DEMO.unredeemed].redeemed_count == 1


async def test_an_injected_503_touches_nothing(
    client: httpx.AsyncClient, state: SandboxState
) -> None:
    """errorRate 1: every call 503s in Passworks' error shape."""
    await client.put("/_sandbox/faults", json={"errorRate": 1.0})
    response = await client.post(pass_path(DEMO.unredeemed) + "/redeem", headers=AUTH)
    assert (response.status_code, response.json()) == (
        503,
        {"errors": ["sandbox fault: service unavailable"]},
    )
    assert state.passworks.passes[CAMPAIGN, DEMO.unredeemed].redeemed_count == 0


async def test_the_shared_admin_shape_makes_passes(client: httpx.AsyncClient) -> None:
    """POST /_sandbox/passworks/coupons with a numbered batch; listed per campaign."""
    made = await client.post(
        "/_sandbox/passworks/coupons",
        json={"count": 3, "campaignId": "c2", "externalIdPrefix": "p-"},
    )
    assert made.status_code == 201
    listed = (await client.get("/_sandbox/passworks/coupons?campaignId=c2")).json()["coupons"]
    assert [item["id"] for item in listed] == ["p-0", "p-1", "p-2"]
    again = await client.post(
        "/_sandbox/passworks/coupons", json={"campaignId": "c2", "externalId": "p-0"}
    )
    assert again.status_code == 400
