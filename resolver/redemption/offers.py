"""A coupon as its back end holds it now, with its offer from a best-effort cache.

Coupons are never cached: whether one is redeemed is the question. Offers change rarely and
are cached in Redis; the cache is only an efficiency, so a Redis that fails while the upstream
has answered never costs the member the answer (the offer is then asked for, or left out).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import structlog

from resolver.domain.errors import StoreUnavailable

if TYPE_CHECKING:
    from resolver.domain.coupons import Coupon, Link, Offer
    from resolver.redemption.ports import ClaimStore, Provider

log = structlog.get_logger("resolver.offers")


class Offers:
    """Reads coupons from their back end and offers through the cache."""

    def __init__(self, store: ClaimStore, ttl: float) -> None:
        self.store = store
        self.ttl = ttl

    async def look(self, provider: Provider, link: Link) -> tuple[Coupon | None, Offer | None]:
        """The coupon the link names now, and its offer."""
        coupon = await provider.lookup(link)
        offer = await self.offer(provider, coupon.offer_id) if coupon and coupon.offer_id else None
        return coupon, offer

    async def offer(
        self, provider: Provider, offer_id: str, *, fresh: bool = False
    ) -> Offer | None:
        """The offer (cached for `ttl`), or None when the back end has none to describe.

        `fresh` asks the back end even when the cache holds the offer (and refreshes the
        cache): for when the cached copy may be what made a refusal look inexplicable.
        """
        if not provider.capabilities.offers:
            return None
        cached = None
        if not fresh:
            try:
                cached = await self.store.cached_offer(provider.name, offer_id)
            except StoreUnavailable as error:
                log.warning("offer_cache_failed", error=str(error))
        if cached is not None:
            return cached
        offer = await provider.offer(offer_id)
        if offer is not None:
            try:
                await self.store.cache_offer(provider.name, offer, self.ttl)
            except StoreUnavailable as error:
                log.warning("offer_cache_failed", error=str(error))
        return offer
