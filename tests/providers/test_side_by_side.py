"""One deployment, two back ends: a campaigns file routes a PassKit campaign and a Passworks
campaign to their own accounts, and each coupon is redeemed once, at its own back end."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from resolver_sandbox import create_sandbox_app
from resolver_sandbox.auth import DEFAULT_API_KEY, DEFAULT_API_SECRET
from resolver_sandbox.passworks_api import API_KEY, USERNAME

from resolver.app import create_app
from tests.conftest import running

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable
    from pathlib import Path

    from redis.asyncio import Redis
    from starlette.applications import Starlette

    from resolver.settings import Settings

SANDBOX = "http://sandbox.test"
COFFEE = "coffee-club"  # a PassKit campaign
PAW = "5fd663d1-4ed4-4800-8d5a-caea4131358a"  # a Passworks campaign
CAMPAIGNS = f"""
[campaigns]
"{COFFEE}" = "coffee"
"{PAW}" = "paw-planet"

[accounts.coffee]
provider = "passkit"
base_url = "{SANDBOX}"
api_key = "{DEFAULT_API_KEY}"
api_secret = {{ env = "COFFEE_PASSKIT_SECRET" }}

[accounts.paw-planet]
provider = "passworks"
base_url = "{SANDBOX}/passworks"
username = "{USERNAME}"
api_key = {{ file = "paw-planet-key" }}
"""


@pytest.fixture
def sandbox_app() -> Starlette:
    return create_sandbox_app()


@pytest.fixture
async def service(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    make_settings: Callable[..., Settings],
    redis: Redis,
    sandbox_app: Starlette,
) -> AsyncIterator[httpx.AsyncClient]:
    """The service with a campaigns file naming both accounts; secrets from env and a file."""
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "paw-planet-key").write_text(API_KEY)
    monkeypatch.setenv("COFFEE_PASSKIT_SECRET", DEFAULT_API_SECRET)
    monkeypatch.setenv("RESOLVER_SECRETS_DIR", str(secrets))
    path = tmp_path / "campaigns.toml"
    path.write_text(CAMPAIGNS)
    settings = make_settings(
        campaigns_file=path, upstream=None, passkit_api_key=None, passkit_api_secret=None
    )
    app = create_app(settings, upstream_transport=httpx.ASGITransport(app=sandbox_app))
    async with running(app) as client:
        yield client


@pytest.fixture
async def sandbox(sandbox_app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=sandbox_app)
    async with httpx.AsyncClient(transport=transport, base_url=SANDBOX) as client:
        yield client


async def redeem(service: httpx.AsyncClient, campaign: str, member: str) -> dict[str, Any]:
    answer = await service.post(
        "/api/v1/redeem", json={"campaignId": campaign, "externalId": member}
    )
    body: dict[str, Any] = answer.json()
    return body


async def test_a_passkit_and_a_passworks_campaign_are_served_side_by_side(
    service: httpx.AsyncClient, sandbox: httpx.AsyncClient
) -> None:
    """The same member id in both campaigns: two coupons, two back ends, one redeem each."""
    await sandbox.post("/_sandbox/coupons", json={"campaignId": COFFEE, "externalId": "m-1"})
    await sandbox.post("/_sandbox/passworks/coupons", json={"campaignId": PAW, "externalId": "m-1"})
    answers = await asyncio.gather(
        *(redeem(service, campaign, "m-1") for campaign in (COFFEE, PAW) for _ in range(20))
    )
    for campaign in (COFFEE, PAW):
        outcomes = [answer["outcome"] for answer in answers if answer["campaignId"] == campaign]
        assert sorted(set(outcomes)) == ["already_redeemed", "redeemed"]
        assert outcomes.count("redeemed") == 1
    stats = (await sandbox.get("/_sandbox/stats")).json()
    tallies = {
        (tally["api"], tally["campaignId"]): (tally["count"], tally["applied"])
        for tally in stats["coupons"].values()
    }
    assert tallies == {("passkit", COFFEE): (1, 1), ("passworks", PAW): (1, 1)}


async def test_each_campaign_shows_its_own_back_ends_offer(
    service: httpx.AsyncClient, sandbox: httpx.AsyncClient
) -> None:
    """The member's page reads the coupon and offer from the campaign's own back end."""
    await sandbox.post("/_sandbox/coupons", json={"campaignId": COFFEE, "externalId": "m-2"})
    await sandbox.post("/_sandbox/passworks/coupons", json={"campaignId": PAW, "externalId": "m-2"})
    coffee = await service.get("/redeem", params={"campaignId": COFFEE, "externalId": "m-2"})
    paw = await service.get("/redeem", params={"campaignId": PAW, "externalId": "m-2"})
    assert "Sandbox offer" in coffee.text
    assert "Free dessert with any main course" in paw.text


async def test_a_campaign_the_file_does_not_list_has_no_coupon_and_costs_nothing(
    service: httpx.AsyncClient, sandbox: httpx.AsyncClient
) -> None:
    """No default account: an unlisted campaign is "no active coupon", with no upstream call."""
    answer = await redeem(service, "demo-campaign", "demo-unredeemed")
    assert answer["outcome"] == "no_active_coupon"
    assert (await sandbox.get("/_sandbox/stats")).json()["calls"] == 0


async def test_readiness_names_no_account(service: httpx.AsyncClient) -> None:
    """/readyz says the upstream is configured; which accounts serve it is for operators' logs."""
    answer = await service.get("/readyz")
    assert answer.json()["checks"]["upstream"] == "configured"
    for account in ("coffee", "paw-planet", "passworks"):
        assert account not in answer.text
