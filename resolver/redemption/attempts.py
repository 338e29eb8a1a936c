"""One claimed attempt, from its claim to its settle: call the upstream once, read the coupon
back when the answer is unclear, and record what happened (docs/reliability.md).

- A request that never left, or that the back end says it applied nothing of, releases the
  claim: the next tap may try again.
- Any other failure (a timeout, a broken connection, a 5xx, an unreadable answer) may have been
  applied. It is settled by reading the coupon back; when the read-back cannot settle it, the
  doubt is remembered ("unknown"), never released, and the next request reads back first.
- Every upstream exchange runs under one overall deadline, and the claim's lease outlasts all
  of an attempt's exchanges (`Policy.lease_for`), so a claim only expires after its owner has
  given up. Before a redeem that follows a read-back, the owner renews its claim.
- Whatever happens between the claim and the settle ends in a settle, even a cancellation.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

import structlog

from resolver.domain.coupons import (
    Coupon,
    CouponState,
    coupon_state,
)
from resolver.domain.errors import (
    CouponChanged,
    CouponRefused,
    StoreUnavailable,
    UpstreamError,
    UpstreamNotApplied,
    UpstreamRejected,
    UpstreamTimeout,
    UpstreamUnreachable,
)
from resolver.domain.redemptions import Outcome, Redemption
from resolver.domain.results import DETAILS, FIRST_KNOWN, describe, failure, unconfirmed
from resolver.redemption.observer import UNOBSERVED
from resolver.redemption.ports import ClaimKind, receipt_id
from resolver.redemption.settling import Settler

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable
    from datetime import datetime

    from resolver.domain.coupons import Link, Offer
    from resolver.domain.redemptions import Attribution, RedeemDetails
    from resolver.redemption.observer import Observer
    from resolver.redemption.offers import Offers
    from resolver.redemption.policy import Policy
    from resolver.redemption.ports import ClaimStore, Provider

log = structlog.get_logger("resolver.redemption")
T = TypeVar("T")


async def within(seconds: float, call: Awaitable[T]) -> T:
    """`call`, given at most `seconds` in all (every try, TLS, pool wait, write, read, token
    fetches): past that it is abandoned, and may or may not have reached the back end."""
    try:
        async with asyncio.timeout(seconds):
            return await call
    except TimeoutError:
        raise UpstreamTimeout(f"no answer within the {seconds:g} s deadline") from None


@dataclass(frozen=True, slots=True)
class Attempt:
    """A claimed attempt at redeeming one link's coupon."""

    provider: Provider
    key: str
    link: Link
    token: str  # the claim token that guards every write
    nonce: str  # names the attempt's receipt
    since: datetime  # when it began, or when the first attempt of a doubt it settles began
    doubt: bool  # an earlier attempt may have been applied (read back before redeeming)
    coupon_id: str  # the coupon the member confirmed, when known
    offer_id: str
    keep_receipt: bool
    details: RedeemDetails  # what the upstream hears about who redeemed, and where
    staff: Attribution | None
    who: str  # the request's identity (its own retries get its result back)
    code: str = ""  # the verification code the member's screen shows for the receipt

    @property
    def receipt(self) -> str:
        return receipt_id(self.key, self.nonce)


class Attempts:
    """Runs claimed attempts to their settle."""

    def __init__(
        self,
        store: ClaimStore,
        policy: Policy,
        offers: Offers,
        clock: Callable[[], datetime],
        *,
        observer: Observer = UNOBSERVED,
    ) -> None:
        self.store = store
        self.policy = policy
        self.offers = offers
        self.observer = observer
        self.settler = Settler(store, policy, clock, observer)
        self._clock = clock

    async def run(self, attempt: Attempt, kind: ClaimKind) -> Redemption:
        """Run the attempt; anything that escapes still leaves a doubt for the next request."""
        try:
            if kind is ClaimKind.RECONCILE or (
                kind is ClaimKind.FORGOTTEN and attempt.provider.capabilities.read_back
            ):
                return await self._reconcile(attempt, forgotten=kind is ClaimKind.FORGOTTEN)
            return await self._redeem(attempt)
        except asyncio.CancelledError:
            # A shutdown that cancels us mid-call: the call may have been applied.
            await asyncio.shield(self.settler.doubt(attempt, None))
            raise
        except (StoreUnavailable, CouponChanged):
            raise  # a renew that failed before sending anything; a coupon replaced, released
        except Exception:  # any failure after the claim may follow a sent redeem
            log.exception("redemption_failed")
            return await self.settler.doubt(attempt, None)

    async def _redeem(self, attempt: Attempt, found: Coupon | None = None) -> Redemption:
        """Send the redeem (after looking first, for a back end that does not guard it).

        `found` is the coupon a read-back just found redeemable: no need to look again.
        """
        provider = attempt.provider
        confirmed = provider.capabilities.guards_redeem or (found is not None and found.use_known)
        if not confirmed and found is None:
            looked = await self._look(attempt)
            if isinstance(looked, Redemption):
                return looked
            coupon, offer = looked
            state = coupon_state(coupon, offer, self._clock())
            if state is not CouponState.REDEEMABLE:
                return await self.settler.state(attempt, state, coupon)
            confirmed = coupon is not None and coupon.use_known
        try:
            answer = await within(
                self.policy.redeem_deadline(provider),
                provider.redeem(attempt.link, attempt.details, coupon_id=attempt.coupon_id or None),
            )
        except (UpstreamUnreachable, UpstreamNotApplied) as error:
            log.info("redeem_not_applied", **describe(error))
            result = failure(attempt.link, attempt.coupon_id, attempt.offer_id, error)
            return await self.settler.record(attempt, "release", result)
        except UpstreamError as error:
            log.info("redeem_unclear", **describe(error))
            return await self._read_back(attempt, error)
        result = Redemption(
            Outcome.REDEEMED,
            attempt.link,
            coupon_id=answer.coupon_id or attempt.coupon_id or None,
            offer_id=attempt.offer_id or None,
            redeemed_at=self._clock(),
            detail=DETAILS[Outcome.REDEEMED] if confirmed else FIRST_KNOWN,
            reference=answer.reference,
            verified_by=attempt.staff,
            confirmed=confirmed,
        )
        return await self.settler.record(attempt, "done", result)

    async def _reconcile(  # noqa: PLR0911  # one return per way a reconcile can end
        self, attempt: Attempt, *, forgotten: bool
    ) -> Redemption:
        """An earlier attempt may have been applied (or Redis forgot): read back, then decide."""
        log.info("reconciling", reason="redis forgot" if forgotten else "earlier attempt in doubt")
        if not attempt.provider.capabilities.read_back:  # nothing can tell: never tried blind
            return await self.settler.doubt(attempt, None, checkable=False)
        looked = await self._look(attempt, reading_back=True)
        if isinstance(looked, Redemption):
            return looked
        coupon, offer = looked
        state = coupon_state(coupon, offer, self._clock())
        if state is not CouponState.REDEEMABLE:
            return await self.settler.state(attempt, state, coupon, ours_possible=not forgotten)
        if coupon is not None and not coupon.use_known:
            if forgotten:  # nothing can tell more, and the quarantine let earlier calls end
                return await self._redeem(attempt, found=coupon)
            return await self.settler.doubt(attempt, None, checkable=False)
        if not await self.store.renew(
            attempt.key, token=attempt.token, lease=self.policy.lease_for(attempt.provider)
        ):
            log.warning("claim_lost", reason="another attempt took over before the redeem")
            return unconfirmed(
                attempt.link, attempt.coupon_id, attempt.offer_id, None, checkable=True
            )
        return await self._redeem(attempt, found=coupon)

    async def _read_back(  # noqa: PLR0911  # one return per way a read-back can end
        self, attempt: Attempt, cause: UpstreamError
    ) -> Redemption:
        """Settle our own unclear or refused redeem by reading the coupon back."""
        provider = attempt.provider
        if not provider.capabilities.read_back:
            if isinstance(cause, CouponRefused):
                return await self.settler.refused(attempt, cause)
            return await self.settler.doubt(attempt, cause)
        looked = await self._look(attempt, cause, reading_back=True)
        if isinstance(looked, Redemption):
            return looked
        coupon, offer = looked
        if coupon is not None and not coupon.use_known:
            if isinstance(cause, CouponRefused):
                return await self.settler.refused(attempt, cause)
            return await self.settler.doubt(attempt, cause, checkable=False)
        # A documented refusal applied nothing, whatever its status (a generic back end may
        # refuse with a 200); any other 4xx refused too.
        refused = isinstance(cause, CouponRefused) or (
            isinstance(cause, UpstreamRejected) and 400 <= cause.status_code < 500
        )
        state = coupon_state(coupon, offer, self._clock())
        if state is CouponState.REDEEMABLE and refused and coupon is not None:
            # Refused, yet the coupon looks redeemable: the cached offer may be out of date
            # (switched off, or its end moved since), so ask for it afresh before settling.
            offer = await self._fresh_offer(attempt, coupon, offer)
            state = coupon_state(coupon, offer, self._clock())
        if state is CouponState.REDEEMABLE and coupon is not None and _replaced(attempt, coupon):
            # The member confirmed a coupon the link no longer names, and the back end refused
            # it: nothing was redeemed, and the new coupon is theirs to confirm.
            result = failure(attempt.link, attempt.coupon_id, attempt.offer_id, cause)
            await self.settler.record(attempt, "release", result)
            raise CouponChanged(coupon.id)
        if state is CouponState.REDEEMABLE:
            if refused:  # nothing of ours was applied, and the coupon is still there
                result = failure(attempt.link, attempt.coupon_id, attempt.offer_id, cause)
                return await self.settler.record(attempt, "release", result)
            return await self.settler.doubt(attempt, cause)  # it may still be applied later
        return await self.settler.state(
            attempt, state, coupon, ours_possible=not (refused and not attempt.doubt)
        )

    async def _fresh_offer(
        self, attempt: Attempt, coupon: Coupon, offer: Offer | None
    ) -> Offer | None:
        """The coupon's offer read past the cache; the one in hand when that read fails."""
        if not coupon.offer_id:
            return offer
        try:
            fresh = await within(
                self.policy.read_deadline,
                self.offers.offer(attempt.provider, coupon.offer_id, fresh=True),
            )
        except UpstreamError as error:
            log.warning("offer_reread_failed", **describe(error))
            return offer
        return fresh if fresh is not None else offer

    async def _look(
        self, attempt: Attempt, cause: UpstreamError | None = None, *, reading_back: bool = False
    ) -> tuple[Coupon | None, Offer | None] | Redemption:
        """The coupon and its offer now, or (when the look fails) the doubt it leaves.

        `reading_back`: the look settles a possible redemption (not a look before redeeming).
        """
        provider = attempt.provider
        try:
            looking = self.offers.look(provider, attempt.link)
            found = await within(self.policy.read_deadline, looking)
        except UpstreamError as error:
            log.warning("read_back_failed", **describe(error))
            if reading_back:
                self.observer.read_back(provider.name, "failed")
            return await self.settler.doubt(attempt, cause or error)
        if reading_back:
            self.observer.read_back(provider.name, "ok")
        return found


def _replaced(attempt: Attempt, coupon: Coupon) -> bool:
    """The link now names another coupon than the one the member confirmed."""
    return bool(attempt.coupon_id) and coupon.id != attempt.coupon_id
