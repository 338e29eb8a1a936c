"""The redemption use case: preview a link, redeem its active coupon at most once, show receipts.

It knows the `Provider` and `Store` interfaces and nothing of HTTP, httpx or redis. The rules it
enforces (docs/reliability.md):

- claim first, then call the upstream once, then settle the claim with what happened;
- a duplicate meeting a claim in flight waits (bounded) and shares its result;
- a clean success, and every definitive answer, is stored and replayed;
- a request that never left releases the claim, so the next tap may try again;
- any other failure is settled by reading the coupon back, never by guessing or retrying blind;
- when even the read-back fails, the state is marked unknown and the next tap reads back first.

A staff code, when the campaign asks for one, is checked before the claim (`verify`), so a wrong
code never touches the coupon's state, the member's form token or the upstream.
"""

from __future__ import annotations

import asyncio
import math
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Literal

import structlog

from resolver.exceptions import (
    CouponRefused,
    InvalidFormToken,
    RateLimited,
    StoreUnavailable,
    UpstreamError,
    UpstreamNotApplied,
    UpstreamRejected,
    UpstreamUnreachable,
)
from resolver.models import (
    CLOCK_TOLERANCE,
    OUTCOME_FOR_STATE,
    Attribution,
    Coupon,
    CouponState,
    Link,
    Offer,
    Outcome,
    RedeemDetails,
    Redemption,
    coupon_state,
)
from resolver.ratelimit import CouponLimit
from resolver.results import DETAILS, describe, failure, in_progress, unconfirmed
from resolver.settings import lease
from resolver.store import Claim, ClaimKind, Store, new_nonce, receipt_id, split_receipt

if TYPE_CHECKING:
    from resolver.providers import Provider
    from resolver.providers.routing import Router

log = structlog.get_logger("resolver.redemption")

# A check a request must pass before it may redeem (the client's rate limit); raises to refuse.
Admission = Callable[[], Awaitable[None]]
# The staff check for the link hashed `key`: who verified (None: nobody had to); raises to refuse.
Verify = Callable[[str], Awaitable[Attribution | None]]

# First and last pause between re-checks while waiting for a redemption in flight; the
# notifier usually wakes the waiter long before the pause ends.
FIRST_PAUSE = 0.05
LAST_PAUSE = 0.5


@dataclass(frozen=True, slots=True)
class Policy:
    """The timings the use case follows (built from Settings by create_app)."""

    duplicate_window: float
    negative_window: float
    coalesce_wait: float
    exchange: float  # the longest one upstream call can take
    form_token_ttl: float
    receipt_ttl: float
    offer_cache_ttl: float
    source: str
    coupon_limit: CouponLimit = field(default_factory=CouponLimit)

    def lease_for(self, provider: Provider) -> float:
        """How long a claim protects a redemption at `provider` (see settings.lease)."""
        return lease(self.exchange, provider.capabilities.redeem_calls)


@dataclass(frozen=True, slots=True)
class Preview:
    """What opening a link shows before anything is redeemed."""

    link: Link
    state: CouponState
    coupon: Coupon | None
    offer: Offer | None
    form_token: str | None = None


@dataclass(frozen=True, slots=True)
class _Attempt:
    provider: Provider
    key: str
    link: Link
    token: str
    nonce: str
    since: datetime
    coupon_id: str
    offer_id: str
    keep_receipt: bool
    details: RedeemDetails  # what the upstream hears about who redeemed, and where
    staff: Attribution | None

    def failed(self, error: UpstreamError) -> Redemption:
        return failure(self.link, self.coupon_id, self.offer_id, error)


class Redemptions:
    """Previews and redeems links against their campaign's provider, at most once."""

    def __init__(
        self,
        providers: Router,
        store: Store,
        policy: Policy,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.providers = providers
        self.store = store
        self.policy = policy
        self._clock = clock

    def key(self, link: Link) -> str:
        provider = self.providers.provider(link.campaign_id)
        return self.store.key(provider.name if provider else "-", link)

    async def preview(
        self, link: Link, *, with_form_token: bool, admit: Admission | None = None
    ) -> Preview:
        """Read the link's coupon (never cached) and its offer (cached); redeem nothing.

        `admit` (e.g. the client's rate limit) runs alongside counting the coupon's requests.
        """
        key = self.key(link)
        structlog.contextvars.bind_contextvars(coupon=key)
        wait, _ = await asyncio.gather(
            self.store.hit(key, self.policy.coupon_limit), admit() if admit else _admitted()
        )
        if wait is not None:
            raise RateLimited(max(1, math.ceil(wait)), scope="coupon")
        provider = self.providers.provider(link.campaign_id)
        if provider is None:  # a campaign this deployment does not serve
            return Preview(link, CouponState.NO_ACTIVE_COUPON, None, None)
        coupon = await provider.lookup(link)
        offer = await self._offer(provider, coupon.offer_id) if coupon and coupon.offer_id else None
        state = coupon_state(coupon, offer, self._clock())
        token = None
        if state is CouponState.REDEEMABLE and coupon is not None and with_form_token:
            token = await self.store.mint_form_token(
                key, coupon.id, coupon.offer_id, self.policy.form_token_ttl
            )
        return Preview(link, state, coupon, offer, token)

    async def offer(self, link: Link, offer_id: str) -> Offer | None:
        """The offer of a coupon of this link's campaign (cached)."""
        provider = self.providers.provider(link.campaign_id)
        return await self._offer(provider, offer_id) if provider else None

    async def _offer(self, provider: Provider, offer_id: str) -> Offer | None:
        if not provider.capabilities.offers:
            return None
        offer = await self.store.cached_offer(provider.name, offer_id)
        if offer is None:
            offer = await provider.offer(offer_id)
            if offer is not None:
                await self.store.cache_offer(provider.name, offer, self.policy.offer_cache_ttl)
        return offer

    async def redeem(
        self,
        link: Link,
        *,
        form_token: str | None = None,
        seen: Coupon | None = None,
        keep_receipt: bool = False,
        admit: Admission | None = None,
        verify: Verify | None = None,
        location: tuple[float, float] | None = None,
    ) -> Redemption:
        """Redeem the link's active coupon at most once and say truthfully how it ended.

        `form_token` is the confirm form's one-time token (the member's flow); `seen` is the
        coupon a preview just showed (instant mode). Either lets a stored result about an
        older coupon, since reissued under the same external id, be told apart.
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
            return Redemption(
                Outcome.NO_ACTIVE_COUPON, link, detail=DETAILS[Outcome.NO_ACTIVE_COUPON]
            )
        staff = None
        if verify is not None:
            if admit is not None:  # over its rate limit, a client gets no code checked either
                await admit()
                admit = None
            staff = await verify(key)
        details = RedeemDetails.of(self.policy.source, staff, location)
        token, nonce = secrets.token_hex(8), new_nonce()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.policy.coalesce_wait
        pause = FIRST_PAUSE
        while True:
            claiming = self.store.claim(
                key,
                token=token,
                nonce=nonce,
                lease=self.policy.lease_for(provider),
                hold=self.policy.lease_for(provider) + self.policy.duplicate_window,
                form_token=form_token,
                expected_coupon=seen.id if seen else "",
                limit=self.policy.coupon_limit,
            )
            if admit is None:
                claim = await claiming
            else:
                claim = await self._claim_if_admitted(key, link, token, claiming, admit)
                admit = None  # admitted once; waiting and re-claiming are not new requests
            if claim.kind is ClaimKind.LIMITED:
                raise RateLimited(max(1, math.ceil(claim.lease_left)), scope="coupon")
            if claim.kind is ClaimKind.BUSY:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    return in_progress(link, receipt_id(key, claim.nonce))
                await self.store.wait(key, min(remaining, pause))
                pause = min(pause * 2, LAST_PAUSE)
                continue
            attempt = _Attempt(
                provider=provider,
                key=key,
                link=link,
                token=token,
                nonce=claim.nonce,
                since=claim.since or self._clock(),
                coupon_id=claim.coupon_id or (seen.id if seen else ""),
                offer_id=claim.offer_id or (seen.offer_id if seen else ""),
                keep_receipt=keep_receipt,
                details=details,
                staff=staff,
            )
            return await self._act(attempt, claim)

    async def _claim_if_admitted(
        self, key: str, link: Link, token: str, claiming: Awaitable[Claim], admit: Admission
    ) -> Claim:
        claim, refusal = await asyncio.gather(claiming, admit(), return_exceptions=True)
        if isinstance(claim, BaseException):
            raise claim
        if isinstance(refusal, BaseException):
            if claim.kind in (ClaimKind.CLAIMED, ClaimKind.RECONCILE):
                # Give the claim back as it was: free, or still in doubt (an earlier attempt
                # may have been applied, so the next tap must read back before redeeming).
                doubt = claim.kind is ClaimKind.RECONCILE
                await self.store.settle(
                    key, token=token, nonce=claim.nonce,
                    mode="unknown" if doubt else "release",
                    result=Redemption(Outcome.UPSTREAM_ERROR, link, detail="not admitted"),
                    keep=self.policy.duplicate_window, receipt_ttl=0,
                )  # fmt: skip
            raise refusal
        return claim

    async def receipt(self, receipt: str) -> Redemption | None:
        """The stored result of one attempt, by the id the member's browser was sent to."""
        key, nonce = split_receipt(receipt)
        return await self.store.receipt(key, nonce)

    def verification_code(self, receipt: str) -> str:
        """The short code the success screen shows for `receipt` (see `Store`)."""
        return self.store.verification_code(receipt)

    async def in_flight(self, receipt: str) -> bool:
        key, nonce = split_receipt(receipt)
        return await self.store.in_flight(key, nonce)

    async def _act(self, attempt: _Attempt, claim: Claim) -> Redemption:
        if claim.kind is ClaimKind.DONE and claim.result is not None:
            return claim.result.replay().with_receipt(receipt_id(attempt.key, claim.nonce))
        if claim.kind is ClaimKind.BAD_TOKEN:
            raise InvalidFormToken("This confirmation has expired or belongs to another coupon.")
        if claim.kind is ClaimKind.USED_TOKEN:
            raise InvalidFormToken("This confirmation was already used.")
        if claim.kind is ClaimKind.RECONCILE:
            log.info("reconciling", reason="an earlier attempt ended in doubt")
            return await self._read_back(attempt, cause=None)
        return await self._call_upstream(attempt)

    async def _call_upstream(self, attempt: _Attempt) -> Redemption:
        try:
            answer = await attempt.provider.redeem(attempt.link, attempt.details)
        except (UpstreamUnreachable, UpstreamNotApplied) as error:
            return await self._settle(
                attempt,
                "release",
                attempt.failed(error),
            )
        except CouponRefused as error:
            log.info("redeem_refused", **describe(error))
            if attempt.provider.capabilities.read_back:  # the read-back knows more (the time)
                return await self._read_back(attempt, cause=error)
            return await self._refused(attempt, error)
        except UpstreamError as error:
            log.info("redeem_unclear", **describe(error))
            return await self._read_back(attempt, cause=error)
        result = Redemption(
            Outcome.REDEEMED,
            attempt.link,
            coupon_id=answer.coupon_id or attempt.coupon_id or None,
            offer_id=attempt.offer_id or None,
            redeemed_at=self._clock(),
            detail=DETAILS[Outcome.REDEEMED],
            reference=answer.reference,
            verified_by=attempt.staff,
        )
        return await self._settle(attempt, "done", result)

    async def _read_back(self, attempt: _Attempt, cause: UpstreamError | None) -> Redemption:
        """Settle an unclear redeem (`cause`) or an earlier attempt's doubt (`cause` is None)."""
        provider = attempt.provider
        if not provider.capabilities.read_back:
            # Nothing can tell us what happened, and at most once forbids trying again blind.
            doubt = attempt.failed(cause) if cause else unconfirmed(attempt.link, attempt.coupon_id)
            return await self._settle(attempt, "unknown", doubt)
        try:
            coupon = await provider.lookup(attempt.link)
            offer = (
                await self._offer(provider, coupon.offer_id) if coupon and coupon.offer_id else None
            )
        except UpstreamError as error:
            log.warning("read_back_failed", **describe(error))
            return await self._settle(
                attempt,
                "unknown",
                attempt.failed(cause or error),
            )
        state = coupon_state(coupon, offer, self._clock())
        if state is CouponState.REDEEMABLE:
            if cause is None:  # the earlier attempt was not applied: now we may redeem
                return await self._call_upstream(attempt)
            return await self._settle(
                attempt,
                "release",
                attempt.failed(cause),
            )
        assert coupon is not None or state is CouponState.NO_ACTIVE_COUPON
        outcome = OUTCOME_FOR_STATE[state]
        redeemed_at = coupon.redeemed_at if coupon else None
        staff = None
        # A documented refusal applied nothing, whatever its status (a generic back end may
        # refuse with a 200); any other 4xx refused too. Only then is a redemption not ours.
        refused = isinstance(cause, CouponRefused) or (
            isinstance(cause, UpstreamRejected) and 400 <= cause.status_code < 500
        )
        if (
            state is CouponState.ALREADY_REDEEMED
            and not refused
            and (redeemed_at is None or redeemed_at >= attempt.since - CLOCK_TOLERANCE)
        ):
            outcome = Outcome.REDEEMED  # our own attempt was applied after all
            redeemed_at = redeemed_at or self._clock()
            # ours when we just sent it; an earlier attempt's staff were never recorded
            staff = attempt.staff if cause is not None else None
        result = Redemption(
            outcome,
            attempt.link,
            coupon_id=coupon.id if coupon else None,
            offer_id=(coupon.offer_id if coupon else None) or attempt.offer_id or None,
            redeemed_at=redeemed_at,
            detail=DETAILS[outcome],
            replayed=cause is None and outcome is Outcome.REDEEMED,
            verified_by=staff,
        )
        return await self._settle(attempt, "done", result)

    async def _refused(self, attempt: _Attempt, refusal: CouponRefused) -> Redemption:
        """Settle a documented refusal from a back end that cannot read the coupon back."""
        outcome = OUTCOME_FOR_STATE.get(refusal.state)
        if outcome is None:  # a refusal that says the coupon is redeemable says nothing
            return await self._settle(
                attempt,
                "unknown",
                attempt.failed(refusal),
            )
        coupon, offer = attempt.coupon_id or None, attempt.offer_id or None
        result = Redemption(outcome, attempt.link, coupon, offer, detail=DETAILS[outcome])
        return await self._settle(attempt, "done", result)

    async def _settle(
        self, attempt: _Attempt, mode: Literal["done", "unknown", "release"], result: Redemption
    ) -> Redemption:
        result = result.with_receipt(receipt_id(attempt.key, attempt.nonce))
        if result.outcome is Outcome.REDEEMED or mode == "unknown":
            # A back end that cannot tell a redemption later relies on this memory alone.
            keep = max(self.policy.duplicate_window, attempt.provider.capabilities.remember)
        else:
            keep = self.policy.negative_window
        try:
            owned = await self.store.settle(
                attempt.key,
                token=attempt.token,
                nonce=attempt.nonce,
                mode=mode,
                result=result,
                keep=keep,
                receipt_ttl=self.policy.receipt_ttl if attempt.keep_receipt else 0,
            )
        except StoreUnavailable as error:
            # The upstream has spoken; the member must still learn what it said.
            log.error("settle_failed", error=type(error).__name__, outcome=result.outcome.value)
            return replace(result, receipt=None)
        if not owned:
            log.warning("claim_lost", reason="lease ran out before the upstream answered")
        return result


async def _admitted() -> None:
    """The admission check of a request nobody limits."""
