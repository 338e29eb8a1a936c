"""How the use case settles a back end's documented refusals, and how long it remembers a success
for a back end that cannot tell one later (a scripted provider against a real Redis)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pytest

from resolver.app import create_app
from resolver.exceptions import (
    CouponRefused,
    UpstreamError,
    UpstreamNotApplied,
    UpstreamTimeout,
)
from resolver.models import Coupon, CouponState, Link, Offer, Outcome, RedeemDetails
from resolver.providers import Capabilities, RedeemAnswer
from resolver.providers.routing import Router
from resolver.redemption import Redemptions

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable

    from redis.asyncio import Redis

    from resolver.settings import Settings
    from resolver.web.services import Services

LINK = Link("camp-1", "member-1")
NO_READ_BACK = Capabilities(read_back=False, offers=False)


@dataclass
class Scripted:
    """A back end whose redeem answers what the test says; its lookups only say "it exists"."""

    capabilities: Capabilities = NO_READ_BACK
    failures: list[UpstreamError] = field(default_factory=list)
    redeems: int = 0
    lookups: int = 0
    name: str = "scripted:test"

    async def lookup(self, link: Link) -> Coupon | None:
        self.lookups += 1
        return Coupon(link.external_id, link.campaign_id, link.external_id, "", "UNREDEEMED")

    async def offer(self, offer_id: str) -> Offer | None:
        return None

    async def redeem(self, link: Link, details: RedeemDetails) -> RedeemAnswer:
        self.redeems += 1
        if self.failures:
            raise self.failures.pop(0)
        return RedeemAnswer(link.external_id, reference="tracking-7")


@pytest.fixture
async def services(make_settings: Callable[..., Settings], redis: Redis) -> AsyncIterator[Services]:
    app = create_app(make_settings(duplicate_window=60))
    async with app.router.lifespan_context(app) as state:
        assert state is not None
        yield state["services"]


def redemptions_for(services: Services, provider: Scripted) -> Redemptions:
    return Redemptions(Router(provider), services.store, services.redemptions.policy)


async def test_a_refusal_naming_the_coupon_settles_a_back_end_without_read_back(
    services: Services,
) -> None:
    """E808-style "no such pass": no_active_coupon at once, replayed, never redeemed again."""
    provider = Scripted(failures=[CouponRefused(200, "E808", CouponState.NO_ACTIVE_COUPON)])
    redemptions = redemptions_for(services, provider)
    first = await redemptions.redeem(LINK)
    second = await redemptions.redeem(LINK)
    assert first.outcome is Outcome.NO_ACTIVE_COUPON
    assert second.outcome is Outcome.NO_ACTIVE_COUPON
    assert second.replayed
    assert (provider.redeems, provider.lookups) == (1, 0)


async def test_an_already_redeemed_refusal_is_already_redeemed(services: Services) -> None:
    """A status the account maps to "already redeemed" is shown as such, with no read-back."""
    provider = Scripted(failures=[CouponRefused(409, "used", CouponState.ALREADY_REDEEMED)])
    result = await redemptions_for(services, provider).redeem(LINK)
    assert result.outcome is Outcome.ALREADY_REDEEMED
    assert provider.lookups == 0


async def test_a_refusal_is_read_back_when_the_back_end_can(services: Services) -> None:
    """With read-back, the refusal only prompts the lookup, which has the last word."""
    provider = Scripted(
        capabilities=Capabilities(),
        failures=[CouponRefused(409, "used", CouponState.ALREADY_REDEEMED)],
    )
    result = await redemptions_for(services, provider).redeem(LINK)
    # The scripted lookup says redeemable: a refusal it contradicts is no outcome to store.
    assert result.outcome is Outcome.UPSTREAM_ERROR
    assert provider.lookups == 1


async def test_not_applied_releases_the_claim_so_the_next_tap_redeems(
    services: Services,
) -> None:
    """E809-style "the pass was not updated": an error now, one clean redeem on the next tap."""
    provider = Scripted(failures=[UpstreamNotApplied(200, "E809")])
    redemptions = redemptions_for(services, provider)
    assert (await redemptions.redeem(LINK)).outcome is Outcome.UPSTREAM_ERROR
    retry = await redemptions.redeem(LINK)
    assert retry.outcome is Outcome.REDEEMED
    assert provider.redeems == 2


async def test_the_back_ends_reference_is_kept_on_the_receipt(services: Services) -> None:
    """A queued update's tracking id travels with the result and its receipt."""
    redemptions = redemptions_for(services, Scripted())
    result = await redemptions.redeem(LINK, keep_receipt=True)
    assert result.reference == "tracking-7"
    assert result.receipt is not None
    stored = await redemptions.receipt(result.receipt)
    assert stored is not None
    assert stored.reference == "tracking-7"


async def test_a_success_is_remembered_as_long_as_the_back_end_needs(
    services: Services, redis: Redis
) -> None:
    """Without read-back, the state outlives the 60 s duplicate window by the provider's need."""
    provider = Scripted(capabilities=Capabilities(read_back=False, remember=86_400))
    redemptions = redemptions_for(services, provider)
    assert (await redemptions.redeem(LINK)).outcome is Outcome.REDEEMED
    ttl = await redis.pttl(f"rr:{{{redemptions.key(LINK)}}}")
    assert 3_600_000 < ttl <= 86_400_000


async def test_a_doubt_is_remembered_as_long_as_a_success(services: Services, redis: Redis) -> None:
    """An unclear redeem of such a back end is not tried again for as long."""
    provider = Scripted(
        capabilities=Capabilities(read_back=False, remember=86_400),
        failures=[UpstreamTimeout("slow")],
    )
    redemptions = redemptions_for(services, provider)
    assert (await redemptions.redeem(LINK)).outcome is Outcome.UPSTREAM_ERROR
    assert await redis.pttl(f"rr:{{{redemptions.key(LINK)}}}") > 3_600_000
    again = await redemptions.redeem(LINK)
    assert "could not be confirmed" in again.detail
    assert provider.redeems == 1
