"""How the use case settles a back end's documented refusals, and how long it remembers a success
for a back end that cannot tell one later: the generic HTTP provider, mocked only at its network
boundary (respx), against a real Redis."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
import respx
from redis.asyncio import Redis

from resolver.app import create_app
from resolver.domain.coupons import Link
from resolver.domain.redemptions import Outcome
from resolver.providers.generic import GenericHttp
from resolver.providers.http_templates import LookupTemplate, RedeemTemplate
from resolver.providers.routing import Router
from resolver.redemption import Redemptions
from resolver.settings import Settings
from resolver.web.services import Services
from tests.conftest import serving

BASE = "https://backend.test"
LINK = Link("camp-1", "member-1")
REDEEM_URL = f"{BASE}/coupons/member-1/redeem"
LOOKUP_URL = f"{BASE}/coupons/member-1"
REDEEM: dict[str, Any] = {
    "method": "POST",
    "path": "/coupons/{external_id}/redeem",
    "success": {"status": [200], "json_path": "status", "json_equals": "redeemed"},
    "outcomes": {
        404: "no_active_coupon",
        409: "already_redeemed",
        202: "already_redeemed",  # a refusal that comes as a 2xx
        423: "not_applied",
    },
    "reference_path": "tracking",
}
LOOKUP: dict[str, Any] = {
    "path": "/coupons/{external_id}",
    "status_path": "state",
    "redeemed": ["used"],
}
REDEEMED = httpx.Response(200, json={"status": "redeemed", "tracking": "tracking-7"})


@pytest.fixture
async def services(make_settings: Callable[..., Settings], redis: Redis) -> AsyncIterator[Services]:
    async with serving(create_app(make_settings(duplicate_window=60))) as services:
        yield services


@pytest.fixture
async def http() -> AsyncIterator[tuple[httpx.AsyncClient, respx.MockRouter]]:
    with respx.mock(assert_all_mocked=True, assert_all_called=False) as router:
        async with httpx.AsyncClient() as client:
            yield client, router


def redemptions_for(
    services: Services, client: httpx.AsyncClient, *, read_back: bool, remember: float = 0.0
) -> Redemptions:
    provider = GenericHttp(
        client,
        name="http:test",
        base_url=BASE,
        redeem=RedeemTemplate.model_validate(REDEEM),
        lookup=LookupTemplate.model_validate(LOOKUP) if read_back else None,
        remember=remember,
    )
    return Redemptions(
        Router(provider),
        services.redemptions.store,
        services.redemptions.names,
        services.redemptions.policy,
    )


async def test_a_refusal_naming_the_coupon_settles_a_back_end_without_read_back(
    services: Services, http: tuple[httpx.AsyncClient, respx.MockRouter]
) -> None:
    """A documented "no such coupon": no_active_coupon at once, replayed, never sent again."""
    client, router = http
    redeem = router.post(REDEEM_URL).respond(404, text="no such coupon")
    redemptions = redemptions_for(services, client, read_back=False)
    first = await redemptions.redeem(LINK)
    second = await redemptions.redeem(LINK)
    assert first.outcome is Outcome.NO_ACTIVE_COUPON
    assert second.outcome is Outcome.NO_ACTIVE_COUPON
    assert second.replayed
    assert redeem.call_count == 1


async def test_an_already_redeemed_refusal_is_already_redeemed(
    services: Services, http: tuple[httpx.AsyncClient, respx.MockRouter]
) -> None:
    """A status the account maps to "already redeemed" is shown as such, with no read-back."""
    client, router = http
    router.post(REDEEM_URL).respond(409, text="used")
    result = await redemptions_for(services, client, read_back=False).redeem(LINK)
    assert result.outcome is Outcome.ALREADY_REDEEMED


async def test_a_refusal_is_read_back_when_the_back_end_can(
    services: Services, http: tuple[httpx.AsyncClient, respx.MockRouter]
) -> None:
    """With read-back, the refusal only prompts the lookup, which has the last word."""
    client, router = http
    router.post(REDEEM_URL).respond(409, text="used")
    lookup = router.get(LOOKUP_URL).respond(200, json={"state": "active"})
    result = await redemptions_for(services, client, read_back=True).redeem(LINK)
    # The lookup says redeemable: a refusal it contradicts is no outcome to store.
    assert result.outcome is Outcome.UPSTREAM_ERROR
    assert lookup.call_count == 1


async def test_a_refusal_is_never_taken_for_our_own_redemption(
    services: Services, http: tuple[httpx.AsyncClient, respx.MockRouter]
) -> None:
    """Refused (even with a 2xx), then read back as used with no time: already redeemed."""
    client, router = http
    router.post(REDEEM_URL).respond(202, text="already used")
    router.get(LOOKUP_URL).respond(200, json={"state": "used"})
    result = await redemptions_for(services, client, read_back=True).redeem(LINK)
    assert result.outcome is Outcome.ALREADY_REDEEMED


async def test_not_applied_releases_the_claim_so_the_next_tap_redeems(
    services: Services, http: tuple[httpx.AsyncClient, respx.MockRouter]
) -> None:
    """ "Not updated, try later": an error now, one clean redeem on the next tap."""
    client, router = http
    redeem = router.post(REDEEM_URL).mock(side_effect=[httpx.Response(423), REDEEMED])
    redemptions = redemptions_for(services, client, read_back=False)
    assert (await redemptions.redeem(LINK)).outcome is Outcome.UPSTREAM_ERROR
    assert (await redemptions.redeem(LINK)).outcome is Outcome.REDEEMED
    assert redeem.call_count == 2


async def test_the_back_ends_reference_is_kept_on_the_receipt(
    services: Services, http: tuple[httpx.AsyncClient, respx.MockRouter]
) -> None:
    """A queued update's tracking id travels with the result and its receipt."""
    client, router = http
    router.post(REDEEM_URL).mock(return_value=REDEEMED)
    redemptions = redemptions_for(services, client, read_back=False)
    result = await redemptions.redeem(LINK, keep_receipt=True)
    assert result.reference == "tracking-7"
    assert result.receipt is not None
    stored = await redemptions.follow(result.receipt)
    assert stored is not None
    assert stored.reference == "tracking-7"


async def test_a_success_is_remembered_as_long_as_the_back_end_needs(
    services: Services, http: tuple[httpx.AsyncClient, respx.MockRouter], redis: Redis
) -> None:
    """Without read-back, the state outlives the 60 s duplicate window by the provider's need."""
    client, router = http
    router.post(REDEEM_URL).mock(return_value=REDEEMED)
    redemptions = redemptions_for(services, client, read_back=False, remember=86_400)
    assert (await redemptions.redeem(LINK)).outcome is Outcome.REDEEMED
    ttl = await redis.pttl(f"rr:{{{redemptions.key(LINK)}}}")
    assert 3_600_000 < ttl <= 86_400_000


async def test_a_doubt_is_remembered_as_long_as_a_success(
    services: Services, http: tuple[httpx.AsyncClient, respx.MockRouter], redis: Redis
) -> None:
    """An unclear redeem of such a back end is not tried again for as long."""
    client, router = http
    redeem = router.post(REDEEM_URL).mock(side_effect=httpx.ReadTimeout("slow"))
    redemptions = redemptions_for(services, client, read_back=False, remember=86_400)
    assert (await redemptions.redeem(LINK)).outcome is Outcome.UNCONFIRMED
    assert await redis.pttl(f"rr:{{{redemptions.key(LINK)}}}") > 3_600_000
    again = await redemptions.redeem(LINK)
    assert "could not be confirmed" in again.detail
    assert redeem.call_count == 1
