"""What `resolver coupon` opens: the service's own Redis store, back ends and doubt rule, as a
worker would build them (`resolver.backends`), for one command."""

from __future__ import annotations

from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from resolver import backends
from resolver.domain.coupons import CouponState, coupon_state
from resolver.domain.errors import UpstreamError
from resolver.domain.names import Names
from resolver.providers import campaigns
from resolver.providers.accounts import Wiring
from resolver.redemption.attempts import within
from resolver.redemption.doubts import Doubts
from resolver.redemption.offers import Offers
from resolver.storage import redis as store_redis
from resolver.storage.claims import RedisClaims
from resolver.storage.records import Records
from resolver.storage.token_cache import SharedTokens

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from resolver.domain.coupons import Coupon, Link, Offer
    from resolver.providers.routing import Router
    from resolver.redemption.policy import Policy
    from resolver.redemption.ports import Held, Provider
    from resolver.settings import Settings


@dataclass(frozen=True, slots=True)
class Operator:
    """One link's record and back end, for an operator's command."""

    router: Router
    names: Names
    policy: Policy
    store: RedisClaims
    records: Records
    doubts: Doubts
    offers: Offers

    def provider(self, link: Link) -> Provider | None:
        return self.router.provider(link.campaign_id)

    def backend(self, link: Link) -> str:
        provider = self.provider(link)
        return provider.name if provider else "none (this deployment does not serve it)"

    def key(self, link: Link) -> str:
        provider = self.provider(link)
        return self.names.key(provider.name if provider else "-", link)

    async def held(self, key: str) -> Held:
        held = await self.store.peek(key)
        assert not isinstance(held, float), "no limit is counted"
        return held

    async def look(self, link: Link) -> tuple[Coupon | None, Offer | None] | str:
        """The coupon and its offer now, or why the back end could not say."""
        provider = self.provider(link)
        if provider is None:
            return "this deployment serves no such campaign"
        try:
            return await within(self.policy.read_deadline, self.offers.look(provider, link))
        except UpstreamError as error:
            return f"the back end did not answer usably ({type(error).__name__})"

    async def upstream_says(self, link: Link) -> str:
        looked = await self.look(link)
        if isinstance(looked, str):
            return looked
        coupon, offer = looked
        if coupon is not None and not coupon.use_known:
            return f"coupon {coupon.id} exists; this back end cannot tell whether it was used"
        state = coupon_state(coupon, offer, datetime.now(UTC))
        if coupon is None:
            return state.value
        said = f"{state.value} (coupon {coupon.id})"
        if state is CouponState.ALREADY_REDEEMED and coupon.redeemed_at:
            said += f", redeemed at {coupon.redeemed_at.isoformat(timespec='seconds')}"
        return said

    async def settle(  # noqa: PLR0911  # one return per reason a doubt cannot be settled
        self, link: Link, key: str, held: Held
    ) -> tuple[bool, str]:
        """Settle the link's doubt from a read-back: (whether it was settled, what to say)."""
        provider = self.provider(link)
        if provider is None:
            return False, "This deployment serves no such campaign: nothing to settle."
        if held.state == "none":
            return False, "Redis holds nothing for this link: nothing to settle."
        if held.state == "done":
            return False, "Already settled; nothing to do (`coupon forget` drops it)."
        if not held.doubt:
            return False, (
                f"An attempt is in flight ({held.lease_left:.1f} s of its lease left): "
                "it settles itself; try again after."
            )
        if not provider.capabilities.read_back:
            return False, (
                "This back end cannot be read back: nothing can settle the doubt. Check the "
                "coupon by hand, then `coupon forget` to let the next tap redeem it."
            )
        looked = await self.look(link)
        if isinstance(looked, str):
            return False, f"Cannot read the coupon back: {looked}. The doubt stays."
        coupon, offer = looked
        result = await self.doubts.settle(
            provider, key=key, link=link, held=held, coupon=coupon, offer=offer
        )
        if result is None:
            return False, (
                "The back end says the coupon is redeemable: the attempt in doubt was not "
                "applied (or not yet). The doubt stays, so the next tap reads back and then "
                "redeems; `coupon forget` clears it now."
            )
        if result.outcome.definitive:
            return True, f"Settled: {result.outcome.value}."
        return False, "The back end cannot tell whether the attempt was applied: the doubt stays."


@asynccontextmanager
async def operator(settings: Settings) -> AsyncIterator[Operator]:
    """The service's store and back ends for one command, closed when it ends."""
    assert settings.redis_url is not None, "the service's Redis (RESOLVER_REDIS_URL)"
    redis = store_redis.connect(
        settings.redis_url, max_connections=4, timeout=settings.redis_timeout
    )
    http = backends.upstream_client(settings)
    try:
        secret = (
            settings.secret_key.get_secret_value().encode()
            if settings.secret_key
            else await store_redis.shared_secret(redis)
        )
        accounts = campaigns.load(settings.campaigns_file) if settings.campaigns_file else None
        router = backends.build_router(settings, accounts, Wiring(http, SharedTokens(redis)))
        policy = backends.policy(settings, router)
        store = RedisClaims(redis)
        clock = lambda: datetime.now(UTC)  # noqa: E731  # the clock every part shares
        yield Operator(
            router=router,
            names=Names(secret),
            policy=policy,
            store=store,
            records=Records(redis),
            doubts=Doubts(store, policy, clock),
            offers=Offers(store, policy.offer_cache_ttl),
        )
    finally:
        await http.aclose()
        await redis.aclose()
