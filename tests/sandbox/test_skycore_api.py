"""The simulated Skycore API: one endpoint, X-Api-Key, actions, documented failures, a status
getpassdata never shows, and an update that nothing refuses twice."""

from __future__ import annotations

from typing import Any

import httpx
from resolver_sandbox import DEMO, SandboxState
from resolver_sandbox.skycore_api import API_KEY, ENDPOINT

TEMPLATE = DEMO.skycore_template
KEY = {"X-Api-Key": API_KEY}


async def call(client: httpx.AsyncClient, **body: Any) -> httpx.Response:
    return await client.post(ENDPOINT, json=body, headers=KEY)


def redeem_body(pass_id: str) -> dict[str, Any]:
    return {
        "action": "updatepassdata",
        "pass-id": pass_id,
        "pass-template-id": TEMPLATE,
        "priority": True,
        "pass-data": {"pass-status": "redeemed"},
    }


async def test_a_wrong_api_key_is_refused(client: httpx.AsyncClient) -> None:
    """401 with a Failure body."""
    response = await client.post(
        ENDPOINT, json={"action": "getpassdata"}, headers={"X-Api-Key": "x"}
    )
    assert (response.status_code, response.json()["status"]) == (401, "Failure")


async def test_getpassdata_never_tells_the_status(client: httpx.AsyncClient) -> None:
    """As documented: the pass's data, with no pass-status, even for a redeemed pass."""
    response = await call(
        client, action="GetPassData", **{"pass-id": DEMO.redeemed, "pass-template-id": TEMPLATE}
    )
    body = response.json()
    assert body["status"] == "Success"
    assert "pass-status" not in body["pass-data"]


async def test_unknown_passes_and_templates_get_the_documented_codes(
    client: httpx.AsyncClient,
) -> None:
    """E808 for the pass-id, E802 for the pass-template-id, status spelt FAILURE."""
    unknown_pass = await call(
        client, action="getpassdata", **{"pass-id": "nobody", "pass-template-id": TEMPLATE}
    )
    assert unknown_pass.json()["error-code"] == "E808"
    unknown_template = await call(
        client, action="getpasstemplate", **{"pass-template-id": "nothing"}
    )
    assert (unknown_template.json()["status"], unknown_template.json()["error-code"]) == (
        "FAILURE",
        "E802",
    )


async def test_updatepassdata_redeems_and_nothing_refuses_a_second_time(
    client: httpx.AsyncClient, state: SandboxState
) -> None:
    """Each update gets a tracking id; the second one succeeds too, applying nothing."""
    first = (await client.post(ENDPOINT, json=redeem_body(DEMO.unredeemed), headers=KEY)).json()
    second = (await client.post(ENDPOINT, json=redeem_body(DEMO.unredeemed), headers=KEY)).json()
    assert (first["status"], second["status"]) == ("Success", "Success")
    assert first["tracking-id"] != second["tracking-id"]
    assert state.skycore.passes[TEMPLATE, DEMO.unredeemed].status == "redeemed"
    tally = (await client.get("/_sandbox/stats")).json()["coupons"][f"skycore:{DEMO.unredeemed}"]
    assert (tally["count"], tally["applied"]) == (2, 1)


async def test_a_lost_answer_looks_like_a_gateways(
    client: httpx.AsyncClient, state: SandboxState
) -> None:
    """apply-then-fail: applied, then a plain-text 500 with no Skycore body."""
    await client.put("/_sandbox/faults", json={"applyThenFail": True})
    response = await client.post(ENDPOINT, json=redeem_body(DEMO.unredeemed), headers=KEY)
    assert (response.status_code, response.text) == (500, "Internal Server Error")
    assert state.skycore.passes[TEMPLATE, DEMO.unredeemed].status == "redeemed"


async def test_the_admin_view_shows_the_status(client: httpx.AsyncClient) -> None:
    """What getpassdata hides, the sandbox's own listing shows, for tests to check."""
    listed = (await client.get(f"/_sandbox/skycore/coupons?campaignId={TEMPLATE}")).json()
    statuses = {item["pass-id"]: item["pass-status"] for item in listed["coupons"]}
    assert statuses[DEMO.redeemed] == "redeemed"
    assert statuses[DEMO.unredeemed] == "active"
