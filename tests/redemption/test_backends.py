"""Exactly once, against every back end: the whole service (JSON API, use case, real Redis, each
real provider) in front of the sandbox's simulation of each back end, in process.

The deployment is the zero-config sandbox one: PassKit serves `demo-campaign`, and every other
simulated back end serves its own demo campaign through the same provider code a campaigns
file would build.
"""

from __future__ import annotations

import asyncio
import json
import re
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from resolver_sandbox import DEMO, create_sandbox_app

from resolver.app import create_app
from tests.conftest import running

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable

    from redis.asyncio import Redis
    from starlette.applications import Starlette

    from resolver.settings import Settings

SANDBOX = "http://sandbox.test"
# Back end → (the sandbox's name for it, its demo campaign, whether it can read back).
BACKENDS = {
    "passkit": ("passkit", DEMO.campaign_id, True),
    "passworks": ("passworks", DEMO.passworks_campaign, True),
    "google_wallet": ("google", DEMO.google_class, True),
    "inhouse_http": ("inhouse", DEMO.inhouse_campaign, True),
    "skycore": ("skycore", DEMO.skycore_template, False),
    "badge_http": ("badge", DEMO.badge_template, False),
}
TAPS = 100


class Deployment:
    """The service and the sandbox it talks to."""

    def __init__(self, service: httpx.AsyncClient, sandbox: httpx.AsyncClient) -> None:
        self.service = service
        self.sandbox = sandbox

    async def coupon(self, backend: str, external_id: str) -> None:
        """A fresh, unredeemed coupon for `external_id` in the back end's demo campaign."""
        api, campaign, _ = BACKENDS[backend]
        path = "/_sandbox/coupons" if api == "passkit" else f"/_sandbox/{api}/coupons"
        made = await self.sandbox.post(
            path, json={"campaignId": campaign, "externalId": external_id}
        )
        assert made.status_code == 201, made.text

    async def faults(self, **faults: Any) -> None:
        assert (await self.sandbox.put("/_sandbox/faults", json=faults)).status_code == 200

    async def redeem(
        self, backend: str, external_id: str, key: str | None = None
    ) -> dict[str, Any]:
        campaign = BACKENDS[backend][1]
        answer = await self.service.post(
            "/api/v1/redeem",
            json={"campaignId": campaign, "externalId": external_id},
            headers={"idempotency-key": key} if key else None,
        )
        body: dict[str, Any] = answer.json()
        return body

    async def tally(self, backend: str, external_id: str) -> tuple[int, int]:
        """(redeem calls, of which applied) the back end counted for the coupon."""
        api = BACKENDS[backend][0]
        stats = (await self.sandbox.get("/_sandbox/stats")).json()
        found = [
            (tally["count"], tally["applied"])
            for tally in stats["coupons"].values()
            if tally["api"] == api and tally["externalId"] == external_id
        ]
        return found[0] if found else (0, 0)


@pytest.fixture
def sandbox_app() -> Starlette:
    return create_sandbox_app()


@pytest.fixture
async def deployment(
    make_settings: Callable[..., Settings], redis: Redis, sandbox_app: Starlette
) -> AsyncIterator[Deployment]:
    settings = make_settings(
        upstream="sandbox",
        passkit_base_url=SANDBOX,
        passkit_api_key=None,
        passkit_api_secret=None,
    )
    app = create_app(settings, upstream_transport=httpx.ASGITransport(app=sandbox_app))
    transport = httpx.ASGITransport(app=sandbox_app)
    async with (
        running(app) as service,
        httpx.AsyncClient(transport=transport, base_url=SANDBOX) as sandbox,
    ):
        yield Deployment(service, sandbox)


@pytest.mark.parametrize("backend", list(BACKENDS))
async def test_100_concurrent_taps_make_one_upstream_redeem(
    deployment: Deployment, backend: str
) -> None:
    """100 JSON redemptions of one coupon at once: one redeem call, one success, and every
    other request told that this service redeemed it."""
    await deployment.coupon(backend, "tap-member")
    await deployment.faults(latencyMs=50, scope="redeem")
    answers = await asyncio.gather(*(deployment.redeem(backend, "tap-member") for _ in range(TAPS)))
    outcomes = [answer["outcome"] for answer in answers]
    assert outcomes.count("redeemed") == 1, answers[0]["detail"]
    assert outcomes.count("already_redeemed") == TAPS - 1
    assert all(answer["redeemedHere"] for answer in answers if answer["outcome"] != "redeemed")
    assert await deployment.tally(backend, "tap-member") == (1, 1)


@pytest.mark.parametrize(
    "backend", [name for name, (_, _, read_back) in BACKENDS.items() if read_back]
)
async def test_applied_then_failed_is_settled_by_reading_back(
    deployment: Deployment, backend: str
) -> None:
    """The redeem applied, then the answer failed: read back, it is ours: redeemed, once."""
    await deployment.coupon(backend, "unlucky")
    await deployment.faults(applyThenFail=True)
    first = await deployment.redeem(backend, "unlucky", key="sale-1")
    await deployment.faults()
    again = await deployment.redeem(backend, "unlucky", key="sale-1")
    assert (first["outcome"], first["replayed"]) == ("redeemed", False)
    assert (again["outcome"], again["replayed"]) == ("redeemed", True)
    assert await deployment.tally(backend, "unlucky") == (1, 1)


@pytest.mark.parametrize(
    "backend", [name for name, (_, _, read_back) in BACKENDS.items() if not read_back]
)
async def test_without_read_back_applied_then_failed_is_never_redeemed_again(
    deployment: Deployment, backend: str
) -> None:
    """Nothing can tell what happened: not confirmed, and no second redeem call."""
    await deployment.coupon(backend, "unlucky")
    await deployment.faults(applyThenFail=True)
    first = await deployment.redeem(backend, "unlucky")
    await deployment.faults()
    again = await deployment.redeem(backend, "unlucky")
    assert first["outcome"] == again["outcome"] == "unconfirmed"
    assert "could not be confirmed" in again["detail"]
    assert await deployment.tally(backend, "unlucky") == (1, 1)


async def test_a_skycore_pass_is_looked_at_before_it_is_updated(deployment: Deployment) -> None:
    """E808 to getpassdata (no such pass-id) is a definite "no active coupon": no update is
    ever sent, and the answer is replayed without a new call."""
    first = await deployment.redeem("skycore", "nobody")
    again = await deployment.redeem("skycore", "nobody")
    assert first["outcome"] == again["outcome"] == "no_active_coupon"
    stats = (await deployment.sandbox.get("/_sandbox/stats")).json()
    assert stats["unmatchedRedeems"] == 0


async def test_an_expired_skycore_pass_is_never_redeemed_by_the_api(
    deployment: Deployment,
) -> None:
    """The API follows the page's rule: the demo's expired pass is expired, and not updated."""
    answer = await deployment.redeem("skycore", DEMO.expired)
    assert answer["outcome"] == "expired"
    assert await deployment.tally("skycore", DEMO.expired) == (0, 0)


@pytest.mark.parametrize("backend", ["skycore", "badge_http"])
async def test_a_success_the_back_end_cannot_vouch_for_says_so(
    deployment: Deployment, backend: str
) -> None:
    """Without a way to tell earlier use, a success is the first this service knows of."""
    answer = await deployment.redeem(backend, DEMO.unredeemed)
    assert (answer["outcome"], answer["upstreamConfirmed"]) == ("redeemed", False)
    assert "first redemption this service knows of" in answer["detail"]
    page = await deployment.service.get(
        "/redeem", params={"campaignId": BACKENDS[backend][1], "externalId": DEMO.unredeemed}
    )
    assert "Already redeemed" in page.text  # this service remembers, and says so


async def test_a_skycore_success_keeps_the_tracking_id_on_the_receipt(
    deployment: Deployment, redis: Redis
) -> None:
    """The queued update's tracking-id is the stored result's reference, and the API's."""
    await deployment.coupon("skycore", "tracked")
    answer = await deployment.redeem("skycore", "tracked")
    assert answer["reference"].startswith("T")
    stored = [await redis.hget(key, "r") for key in await redis.keys("rr:{*}")]
    references = [json.loads(value)["reference"] for value in stored if value]
    assert len(references) == 1
    assert references[0].startswith("T")


@pytest.mark.parametrize("backend", ["passworks", "google_wallet", "inhouse_http"])
async def test_an_already_redeemed_coupon_is_already_redeemed(
    deployment: Deployment, backend: str
) -> None:
    """The demo's redeemed coupon, on every back end that can tell."""
    answer = await deployment.redeem(backend, DEMO.redeemed)
    assert answer["outcome"] == "already_redeemed"


OFFER_TITLES = {
    "passkit": "Free coffee",
    "passworks": "Free dessert with any main course",
    "google_wallet": "Free pastry",
    "inhouse_http": "Free cinema ticket",
    "skycore": "Free pizza slice",
    "badge_http": "Free drink",
}


@pytest.mark.parametrize("backend", list(BACKENDS))
async def test_the_members_flow_works_on_every_back_end(
    deployment: Deployment, backend: str
) -> None:
    """Open the link (the offer and a form), press "Redeem now", land on a success receipt."""
    campaign = BACKENDS[backend][1]
    link = {"campaignId": campaign, "externalId": DEMO.unredeemed}
    page = await deployment.service.get("/redeem", params=link)
    assert page.status_code == 200
    assert OFFER_TITLES[backend] in page.text
    token = re.search(r'name="token" value="([^"]+)"', page.text)
    assert token is not None
    pressed = await deployment.service.post("/redeem", data={**link, "token": token.group(1)})
    assert pressed.status_code == 303
    receipt = await deployment.service.get(pressed.headers["location"])
    # A back end that cannot tell earlier use never gets the screen of a vouched success.
    state = "success" if BACKENDS[backend][2] else "recorded"
    assert (receipt.status_code, f'class="state-{state}"' in receipt.text) == (200, True)
    assert await deployment.tally(backend, DEMO.unredeemed) == (1, 1)
