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
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Literal

import structlog

from resolver.domain.coupons import CouponState, coupon_state, redeemed_by_attempt, redeemed_through
from resolver.domain.errors import InvalidFormToken, RateLimited
from resolver.domain.redemptions import OUTCOME_FOR_STATE, Outcome, RedeemDetails, Redemption
from resolver.domain.results import DETAILS, already_here, in_progress, settled, unconfirmed
from resolver.redemption.attempts import Attempt, Attempts, within
from resolver.redemption.offers import Offers
from resolver.redemption.ports import Claim, ClaimKind, Held, new_nonce, receipt_id, split_receipt

if TYPE_CHECKING:
    from resolver.domain.coupons import Coupon, Link, Offer
    from resolver.domain.names import Names
    from resolver.domain.redemptions import Attribution
    from resolver.redemption.policy import Policy
    from resolver.redemption.ports import ClaimStore, Provider, Providers

log = structlog.get_logger("resolver.redemption")

# A check a request must pass before it may redeem (the client's rate limit); raises to refuse.
Admission = Callable[[], Awaitable[None]]
# The staff check for the link hashed `key`: who verified (None: nobody had to); raises to refuse.
Verify = Callable[[str], Awaitable["Attribution | None"]]

# First and last pause between re-checks while waiting for a redemption in flight; the
# notifier usually wakes the waiter long before the pause ends.
FIRST_PAUSE = 0.05
LAST_PAUSE = 0.5


@dataclass(frozen=True, slots=True)
class Preview:
    """What opening a link shows before anything is redeemed."""

    link: Link
    state: CouponState
    coupon: Coupon | None
    offer: Offer | None
    form_token: str | None = None
    # ALREADY_REDEEMED: when (the back end's time, else ours) and whether this service did it
    redeemed_at: datetime | None = None
    redeemed_here: bool | None = None
    # A result to show instead: a doubt this preview settled, or one nothing can settle
    result: Redemption | None = None


class Redemptions:
    """Previews and redeems links against their campaign's provider, at most once."""

    def __init__(
        self,
        providers: Providers,
        store: ClaimStore,
        names: Names,
        policy: Policy,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.providers = providers
        self.store = store
        self.names = names
        self.policy = policy
        self.offers = Offers(store, policy.offer_cache_ttl)
        self.attempts = Attempts(store, policy, self.offers, clock)
        self._clock = clock

    def key(self, link: Link) -> str:
        provider = self.providers.provider(link.campaign_id)
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
            result = await self._settle_doubt(
                provider, key=key, link=link, held=held, coupon=coupon, offer=offer
            )
            if result is not None:
                return Preview(link, state, coupon, offer, result=result)
        preview = _with_our_record(Preview(link, state, coupon, offer), held, self.policy.source)
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
        minted = await self.store.form_token(self.key(link), token)
        if minted is None:
            return "unknown"
        return "used" if minted.used else "fresh"

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
        goes upstream and into the result. `location` (lat, lon) goes upstream.
        """
        key = self.key(link)
        structlog.contextvars.bind_contextvars(coupon=key)
        provider = self.providers.provider(link.campaign_id)
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
        claim = await self._claim(
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
            return _stored(claim, key)
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
            details=RedeemDetails.of(self.policy.source, staff, location),
            staff=staff,
            who=who,
        )
        return await self.attempts.run(attempt, claim.kind)

    async def _claim(
        self,
        provider: Provider,
        *,
        key: str,
        link: Link,
        token: str,
        who: str,
        form_token: str | None,
        expected: str,
        admit: Admission | None,
    ) -> Claim | Redemption:
        """Claim the link, waiting (bounded) while another attempt holds it; charged to the
        coupon's rate limit once, however often the wait re-checks."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.policy.coalesce_wait
        pause, first = FIRST_PAUSE, True
        nonce = new_nonce()
        while True:
            claiming = self.store.claim(
                key,
                token=token,
                nonce=nonce,
                lease=self.policy.lease_for(provider),
                hold=self.policy.lease_for(provider) + self.policy.duplicate_window,
                link=link,
                form_token=form_token,
                expected_coupon=expected,
                limit=self.policy.coupon_limit,
                count=first,
                who=who,
                quarantine=self.policy.quarantine,
                forgetful=self.policy.forgetful,
            )
            if first and admit is not None:
                claim = await self._claim_if_admitted(
                    key=key, link=link, token=token, claiming=claiming, admit=admit, who=who
                )
            else:
                claim = await claiming
            first = False
            if claim.kind is ClaimKind.LIMITED:
                raise RateLimited(max(1, math.ceil(claim.wait)), scope="coupon")
            if claim.kind not in (ClaimKind.BUSY, ClaimKind.QUARANTINE):
                return claim
            remaining = deadline - loop.time()
            if claim.kind is ClaimKind.QUARANTINE:
                log.warning("redis_forgot", wait=round(claim.wait, 1))
                if claim.wait > remaining:  # no use waiting: say when to come back
                    return in_progress(link, None, math.ceil(claim.wait))
                await asyncio.sleep(claim.wait)
                continue
            if remaining <= 0:
                # Only the request itself may follow the attempt to its receipt: anyone else
                # is told to come back, and then learns how it ended.
                return in_progress(link, receipt_id(key, claim.nonce) if claim.mine else None)
            await self.store.wait(key, min(remaining, pause))
            pause = min(pause * 2, LAST_PAUSE)

    async def _claim_if_admitted(
        self,
        *,
        key: str,
        link: Link,
        token: str,
        claiming: Awaitable[Claim],
        admit: Admission,
        who: str,
    ) -> Claim:
        claim, refusal = await asyncio.gather(claiming, admit(), return_exceptions=True)
        if isinstance(claim, BaseException):
            raise claim
        if isinstance(refusal, BaseException):
            if claim.kind in (ClaimKind.CLAIMED, ClaimKind.RECONCILE, ClaimKind.FORGOTTEN):
                # Give the claim back as it was: free, or still in doubt (an earlier attempt
                # may have been applied, so the next tap must read back before redeeming).
                doubt = claim.kind is not ClaimKind.CLAIMED
                await self.store.settle(
                    key, token=token, nonce=claim.nonce, since=claim.since or self._clock(),
                    link=link, who=who, mode="unknown" if doubt else "release",
                    result=Redemption(Outcome.UPSTREAM_ERROR, link, detail="not admitted"),
                    keep=self.policy.duplicate_window, receipt_ttl=0,
                )  # fmt: skip
            raise refusal
        return claim

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
        settled_now = await self._settle_doubt(
            provider, key=key, link=found.link, held=held, coupon=coupon, offer=offer
        )
        if settled_now is not None:
            return settled_now
        # Redeemable after all: the owner's attempt was not applied (or not yet). Nothing is
        # redeemed from a receipt page; the member can confirm again from the link.
        return unconfirmed(found.link, "", "", None, checkable=True).with_receipt(receipt)

    async def _settle_doubt(
        self,
        provider: Provider,
        *,
        key: str,
        link: Link,
        held: Held,
        coupon: Coupon | None,
        offer: Offer | None,
    ) -> Redemption | None:
        """Settle an earlier attempt's doubt from the coupon just read; None when the coupon is
        redeemable and the back end vouches for it (the member may confirm again)."""
        assert held.since is not None
        receipt = receipt_id(key, held.nonce)
        if coupon is not None and not coupon.use_known:
            # Nothing can tell whether the earlier attempt was applied.
            return unconfirmed(
                link, coupon.id, coupon.offer_id, None, checkable=False
            ).with_receipt(receipt)
        state = coupon_state(coupon, offer, self._clock())
        if state is CouponState.REDEEMABLE:
            return None
        redeemed_at = coupon.redeemed_at if coupon else None
        if state is CouponState.ALREADY_REDEEMED and redeemed_by_attempt(
            redeemed_at, held.since, refused=False
        ):
            assert coupon is not None
            result = Redemption(
                Outcome.REDEEMED,
                link,
                coupon_id=coupon.id,
                offer_id=coupon.offer_id or None,
                redeemed_at=redeemed_at or self._clock(),
                detail=DETAILS[Outcome.REDEEMED],
            )
        else:
            result = settled(
                OUTCOME_FOR_STATE[state],
                link,
                coupon_id=coupon.id if coupon else None,
                offer_id=coupon.offer_id if coupon else None,
                redeemed_at=redeemed_at,
            )
        result = result.with_receipt(receipt)
        keep = max(self.policy.duplicate_window, provider.capabilities.remember)
        await self.store.resolve(
            key, nonce=held.nonce, mode="done", result=result, keep=keep,
            receipt_ttl=self.policy.receipt_ttl,
        )  # fmt: skip
        log.info("doubt_settled", outcome=result.outcome.value)
        return result

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


def _with_our_record(preview: Preview, held: Held, source: str) -> Preview:
    """Add what this service knows of the coupon's use to what the back end said."""
    coupon, result = preview.coupon, held.result
    if coupon is None:
        return preview
    ours = (
        held.state == "done"
        and result is not None
        and result.outcome is Outcome.REDEEMED
        and held.coupon_id == coupon.id
    )
    if preview.state is CouponState.ALREADY_REDEEMED:
        here = True if ours else redeemed_through(coupon, source)
        return replace(preview, redeemed_at=coupon.redeemed_at, redeemed_here=here)
    if preview.state is CouponState.REDEEMABLE and ours and not coupon.use_known:
        # The back end cannot tell; this service redeemed it within its memory.
        assert result is not None
        return replace(
            preview,
            state=CouponState.ALREADY_REDEEMED,
            redeemed_at=result.redeemed_at,
            redeemed_here=True,
        )
    return preview


async def _admitted() -> None:
    """The admission check of a request nobody limits."""
