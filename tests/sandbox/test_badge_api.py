"""The simulated Badge upsert and Make webhook."""

from __future__ import annotations

import httpx
from resolver_sandbox import DEMO, SandboxState
from resolver_sandbox.badge_api import BADGE_KEY, MAKE_KEY

BADGE = {"Authorization": f"Bearer {BADGE_KEY}"}


def upsert_body(pass_id: str, **attributes: str) -> dict[str, object]:
    return {
        "user": {"id": pass_id},
        "passTemplateId": DEMO.badge_template,
        "pass": {"id": pass_id, "attributes": attributes},
    }


async def test_the_upsert_needs_the_key(client: httpx.AsyncClient) -> None:
    """401 without it."""
    response = await client.post("/generic/badge/v0/userPassUpsert", json=upsert_body("x"))
    assert response.status_code == 401


async def test_an_upsert_is_idempotent_and_counted_as_a_redeem(
    client: httpx.AsyncClient, state: SandboxState
) -> None:
    """Setting `redeemed` twice answers 200 twice; one change, two redeem calls."""
    for _ in range(2):
        response = await client.post(
            "/generic/badge/v0/userPassUpsert",
            json=upsert_body(DEMO.unredeemed, redeemed="yes"),
            headers=BADGE,
        )
        assert response.status_code == 200
    stored = state.badge.passes[DEMO.badge_template, DEMO.unredeemed]
    assert stored.attributes == {"redeemed": "yes"}
    tallies = (await client.get("/_sandbox/stats")).json()["coupons"]
    tally = tallies[f"badge:{DEMO.badge_template}/{DEMO.unredeemed}"]
    assert (tally["count"], tally["applied"]) == (2, 1)


async def test_the_make_hook_answers_accepted_whatever_happens(
    client: httpx.AsyncClient, state: SandboxState
) -> None:
    """ "Accepted" for a coupon it redeems at PassKit and for one that does not exist."""
    key = {"x-make-apikey": MAKE_KEY}
    query = {"externalId": DEMO.unredeemed, "campaignId": DEMO.campaign_id}
    applied = await client.get("/generic/make/demo-scenario", params=query, headers=key)
    unknown = await client.post(
        "/generic/make/demo-scenario",
        json={"externalId": "nobody", "campaignId": DEMO.campaign_id},
        headers=key,
    )
    assert (applied.text, unknown.text) == ("Accepted", "Accepted")
    coupon = state.coupon_by_external_id(DEMO.campaign_id, DEMO.unredeemed)
    assert coupon is not None
    assert coupon.status == "REDEEMED"
    refused = await client.get("/generic/make/demo-scenario", params=query)
    assert refused.status_code == 401
