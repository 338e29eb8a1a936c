"""The redemption use case: preview a link, redeem its active coupon at most once, show receipts.

It knows its ports (`resolver.redemption.ports`: the `Provider` and the `ClaimStore`) and the
domain, and nothing of HTTP, httpx or redis. The rules it
enforces (docs/reliability.md):

- claim first, then call the upstream once, then settle the claim with what happened
  (`resolver.attempts` runs a claimed attempt);
- a duplicate meeting a claim in flight waits (bounded) and learns the result: its own result
  when it is the same request (the same confirm form, the same Idempotency-Key), "already
  redeemed here" when it is another;
- a definitive answer is stored and answered from the store within its window;
- whatever may have been applied and could not be confirmed is remembered as a doubt, and the
  next request (a preview or a receipt page included) reads the coupon back first.

A staff code, when the campaign asks for one, is checked before the claim (`verify`), so a wrong
code never touches the coupon's state, the member's form token or the upstream.
"""

from __future__ import annotations

import asyncio
import math
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Literal

import structlog

from resolver.domain.coupons import CouponState, coupon_state
from resolver.domain.errors import InvalidFormToken, RateLimited
from resolver.domain.redemptions import Outcome, RedeemDetails, Redemption, Till
from resolver.domain.results import already_here, in_progress, settled, unconfirmed
from resolver.redemption.attempts import Attempt, Attempts, within
from resolver.redemption.claiming import Claims
from resolver.redemption.doubts import Doubts, Preview, with_our_record
from resolver.redemption.observer import UNOBSERVED
from resolver.redemption.offers import Offers
from resolver.redemption.ports import (
    AuditFacts,
    Claim,
    ClaimKind,
    Held,
    receipt_id,
    split_receipt,
)

if TYPE_CHECKING:
    from resolver.domain.coupons import Coupon, Link, Offer
    from resolver.domain.names import Names
    from resolver.domain.redemptions import Attribution
    from resolver.redemption.observer import Observer
    from resolver.redemption.policy import Policy
    from resolver.redemption.ports import ClaimStore, FormToken, Provider, Providers

log = structlog.get_logger("resolver.redemption")

# A check a request must pass before it may redeem (the client's rate limit); raises to refuse.
Admission = Callable[[], Awaitable[None]]
# The staff check for the link hashed `key`: who verified (None: nobody had to); raises to refuse.
Verify = Callable[[str], Awaitable["Attribution | None"]]


class Redemptions:
    """Previews and redeems links against their campaign's provider, at most once."""

    def __init__(
        self,
        providers: Providers,
        store: ClaimStore,
        names: Names,
        policy: Policy,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        *,
        observer: Observer = UNOBSERVED,
    ) -> None:
        self.providers = providers
        self.observer = observer
        self.store = store
        self.names = names
        self.policy = policy
        self.offers = Offers(store, policy.offer_cache_ttl)
        self.attempts = Attempts(store, policy, self.offers, clock, observer=observer)
        self.claims = Claims(store, policy, clock, observer)
        self.doubts = Doubts(store, policy, clock, observer, names.verification_code)
        self._clock = clock

    def key(self, link: Link) -> str:
        return self._key(self.providers.provider(link.campaign_id), link)

    def _key(self, provider: Provider | None, link: Link) -> str:
        return self.names.key(provider.name if provider else "-", link)

    async def preview(
        self, link: Link, *, with_form_token: bool, admit: Admission | None = None
    ) -> Preview:
        """Read the link's coupon (never cached) and what Redis holds about it; redeem nothing.

        `admit` (e.g. the client's rate limit) runs alongside counting the coupon's requests.
        A doubt left by an earlier attempt is settled here when the coupon read back tells.
        """
        key = self.key(link)
        structlog.contextvars.bind_contextvars(coupon=key)
        held, _ = await asyncio.gather(
            self.store.peek(key, self.policy.coupon_limit), admit() if admit else _admitted()
        )
        if isinstance(held, float):
            raise RateLimited(max(1, math.ceil(held)), scope="coupon")
        provider = self.providers.provider(link.campaign_id)
        if provider is None:  # a campaign this deployment does not serve
            return Preview(link, CouponState.NO_ACTIVE_COUPON, None, None)
        coupon, offer = await within(self.policy.read_deadline, self.offers.look(provider, link))
        state = coupon_state(coupon, offer, self._clock())
        if held.doubt and held.since is not None:
            result = await self.doubts.settle(
                provider, key=key, link=link, held=held, coupon=coupon, offer=offer
            )
            if result is not None:
                return Preview(link, state, coupon, offer, result=result)
        preview = with_our_record(Preview(link, state, coupon, offer), held, self.policy.source)
        if preview.state is CouponState.REDEEMABLE and coupon is not None and with_form_token:
            token = await self.store.mint_form_token(
                key, coupon.id, coupon.offer_id, self.policy.form_token_ttl
            )
            preview = replace(preview, form_token=token)
        return preview

    async def offer(self, link: Link, offer_id: str) -> Offer | None:
        """The offer of a coupon of this link's campaign (cached)."""
        provider = self.providers.provider(link.campaign_id)
        return await self.offers.offer(provider, offer_id) if provider else None

    async def form_token_state(self, link: Link, token: str) -> Literal["fresh", "used", "unknown"]:
        """Whether a confirm form's token is fresh (minted for a coupon a preview just found
        redeemable, not yet used), used, or unknown (never minted for this link, or expired)."""
        minted = await self.minted(link, token)
        if minted is None:
            return "unknown"
        return "used" if minted.used else "fresh"

    async def minted(self, link: Link, token: str) -> FormToken | None:
        """What a confirm form's token was minted for (its coupon and offer), if it was."""
        return await self.store.form_token(self.key(link), token)

    async def coupon(self, link: Link) -> Coupon | None:
        """The link's coupon now, read from its back end (never cached)."""
        provider = self.providers.provider(link.campaign_id)
        if provider is None:
            return None
        return await within(self.policy.read_deadline, provider.lookup(link))

    async def redeem(
        self,
        link: Link,
        *,
        form_token: str | None = None,
        seen: Coupon | None = None,
        idempotency_key: str | None = None,
        keep_receipt: bool = False,
        admit: Admission | None = None,
        verify: Verify | None = None,
        location: tuple[float, float] | None = None,
        till: Till | None = None,
    ) -> Redemption:
        """Redeem the link's active coupon at most once and say truthfully how it ended.

        `form_token` is the confirm form's one-time token (the member's flow) and
        `idempotency_key` an API caller's: either names the request, so that its retries get
        its own result back while any other request for the coupon learns "already redeemed".
        `seen` is the coupon a preview just showed (instant mode). A form token or `seen` names
        the coupon the member confirmed: a stored result about an older coupon, since reissued
        under the same external id, does not count, and only that coupon is redeemed.
        `keep_receipt` keeps the result for a receipt page beyond the duplicate window (API
        callers have no receipt page, and a busy day's receipts would fill Redis for nothing).
        `admit` (e.g. the client's rate limit) runs alongside the first claim, so it adds no
        round trip; when it refuses, a claim already taken is released before it raises.
        `verify` (the staff check) runs before anything is claimed, after `admit`; who it names
        goes upstream and into the result. `location` (lat, lon) goes upstream; so does `till`
        (the code used, the till's transaction), which is kept with the result too.
        """
        provider = self.providers.provider(link.campaign_id)
        result = await self._redeem(
            link,
            provider,
            form_token=form_token,
            seen=seen,
            idempotency_key=idempotency_key,
            keep_receipt=keep_receipt,
            admit=admit,
            verify=verify,
            location=location,
            till=till,
        )
        self.observer.redeemed(provider.name if provider else "none", result)
        return result

    async def _redeem(
        self,
        link: Link,
        provider: Provider | None,
        *,
        form_token: str | None,
        seen: Coupon | None,
        idempotency_key: str | None,
        keep_receipt: bool,
        admit: Admission | None,
        verify: Verify | None,
        location: tuple[float, float] | None,
        till: Till | None,
    ) -> Redemption:
        key = self._key(provider, link)
        structlog.contextvars.bind_contextvars(coupon=key)
        if provider is None:  # a campaign this deployment does not serve: nothing to claim
            if admit is not None:
                await admit()
            return settled(Outcome.NO_ACTIVE_COUPON, link, coupon_id=None, offer_id=None)
        staff = None
        if verify is not None:
            if admit is not None:  # over its rate limit, a client gets no code checked either
                await admit()
                admit = None
            staff = await verify(key)
        who = ""
        if form_token is not None:
            who = self.names.identity("form", form_token)
        elif idempotency_key is not None:
            who = self.names.identity("key", idempotency_key)
        token = secrets.token_hex(8)
        claim = await self.claims.take(
            provider,
            key=key,
            link=link,
            token=token,
            who=who,
            form_token=form_token,
            expected=seen.id if seen else "",
            admit=admit,
        )
        if isinstance(claim, Redemption):
            return claim
        if claim.kind is ClaimKind.DONE:
            result = _stored(claim, key)
            facts = AuditFacts(
                at=self._clock(),
                backend=provider.name,
                code=self.names.verification_code(result.receipt) if result.receipt else "",
                staff=staff,
                retry=claim.mine,
                replay=True,
            )
            await self.store.record_replay(key, result, facts)
            return result
        if claim.kind is ClaimKind.BAD_TOKEN:
            raise InvalidFormToken("This confirmation has expired or belongs to another coupon.")
        if claim.kind is ClaimKind.USED_TOKEN:
            raise InvalidFormToken("This confirmation was already used.")
        attempt = Attempt(
            provider=provider,
            key=key,
            link=link,
            token=token,
            nonce=claim.nonce,
            since=claim.since or self._clock(),
            doubt=claim.kind is ClaimKind.RECONCILE,
            coupon_id=claim.coupon_id or (seen.id if seen else ""),
            offer_id=claim.offer_id or (seen.offer_id if seen else ""),
            keep_receipt=keep_receipt,
            details=RedeemDetails.of(self.policy.source, staff, location, till),
            staff=staff,
            who=who,
            code=self.names.verification_code(receipt_id(key, claim.nonce)),
        )
        return await self.attempts.run(attempt, claim.kind)

    async def follow(self, receipt: str) -> Redemption | None:
        """The result of attempt `receipt` (by the id the member's browser was sent to): its
        result, "in progress" while its owner holds the claim, a doubt settled by reading
        back once the owner is gone, or None when there is no such attempt."""
        key, nonce = split_receipt(receipt)
        found = await self.store.attempt(key, nonce)
        if found.state == "done":
            return found.result
        if found.state == "in_flight":
            return in_progress(found.link, receipt) if found.link else None
        if found.state == "gone" or found.link is None or found.since is None:
            return None
        provider = self.providers.provider(found.link.campaign_id)
        if provider is None or self.key(found.link) != key:
            return None
        held = Held("unknown", nonce, found.since)
        coupon, offer = await within(
            self.policy.read_deadline, self.offers.look(provider, found.link)
        )
        settled_now = await self.doubts.settle(
            provider, key=key, link=found.link, held=held, coupon=coupon, offer=offer
        )
        if settled_now is not None:
            return settled_now
        # Redeemable after all: the owner's attempt was not applied (or not yet). Nothing is
        # redeemed from a receipt page; the member can confirm again from the link.
        return unconfirmed(found.link, "", "", None, checkable=True).with_receipt(receipt)

    def verification_code(self, receipt: str) -> str:
        """The short code the success screen shows for `receipt` (`resolver.domain.names`)."""
        return self.names.verification_code(receipt)


def _stored(claim: Claim, key: str) -> Redemption:
    """A stored result as this request learns it: its own result when it is the request that
    made it; another request's success is "already redeemed here"."""
    assert claim.result is not None
    if claim.result.outcome is Outcome.REDEEMED and not claim.mine:
        return already_here(claim.result)
    return claim.result.replay().with_receipt(receipt_id(key, claim.nonce))


async def _admitted() -> None:
    """The admission check of a request nobody limits."""
