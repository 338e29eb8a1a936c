"""How a claimed attempt is recorded: a definitive answer, a doubt, or a release, and what the
member is told when the record cannot be made (Redis failing after the back end answered, or
another attempt that took the claim over)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Literal

import structlog

from resolver.domain.coupons import CouponState, redeemed_by_attempt, redeemed_through
from resolver.domain.errors import StoreUnavailable
from resolver.domain.redemptions import OUTCOME_FOR_STATE, Outcome, Redemption
from resolver.domain.results import DETAILS, settled, unconfirmed
from resolver.redemption.observer import UNOBSERVED
from resolver.redemption.ports import AuditFacts, Settled

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime

    from resolver.domain.coupons import Coupon
    from resolver.domain.errors import CouponRefused, UpstreamError
    from resolver.redemption.attempts import Attempt
    from resolver.redemption.observer import Observer
    from resolver.redemption.policy import Policy
    from resolver.redemption.ports import ClaimStore

log = structlog.get_logger("resolver.redemption")
Mode = Literal["done", "unknown", "release"]


@dataclass(frozen=True, slots=True)
class Settler:
    """Records how attempts ended."""

    store: ClaimStore
    policy: Policy
    clock: Callable[[], datetime]
    observer: Observer = UNOBSERVED

    async def refused(self, attempt: Attempt, refusal: CouponRefused) -> Redemption:
        """Settle a documented refusal by itself (nothing could read the coupon back)."""
        outcome = OUTCOME_FOR_STATE.get(refusal.state)
        if outcome is None:  # a refusal that says the coupon is redeemable says nothing
            return await self.doubt(attempt, refusal)
        result = settled(
            outcome,
            attempt.link,
            coupon_id=attempt.coupon_id or None,
            offer_id=attempt.offer_id or None,
        )
        return await self.record(attempt, "done", result)

    async def state(
        self,
        attempt: Attempt,
        state: CouponState,
        coupon: Coupon | None,
        *,
        ours_possible: bool = False,
    ) -> Redemption:
        """Settle with what a look at the coupon says (it is not redeemable now)."""
        outcome = OUTCOME_FOR_STATE[state]
        redeemed_at = coupon.redeemed_at if coupon else None
        if state is CouponState.ALREADY_REDEEMED and ours_possible:
            assert coupon is not None
            if redeemed_by_attempt(redeemed_at, attempt.since, refused=False):
                # Our own attempt (or the earlier one this settles) was applied after all.
                result = Redemption(
                    Outcome.REDEEMED,
                    attempt.link,
                    coupon_id=coupon.id,
                    offer_id=coupon.offer_id or attempt.offer_id or None,
                    redeemed_at=redeemed_at or self.clock(),
                    detail=DETAILS[Outcome.REDEEMED],
                    verified_by=attempt.staff if not attempt.doubt else None,
                )
                return await self.record(attempt, "done", result)
        result = settled(
            outcome,
            attempt.link,
            coupon_id=coupon.id if coupon else None,
            offer_id=(coupon.offer_id if coupon else None) or attempt.offer_id or None,
            redeemed_at=redeemed_at,
            redeemed_here=redeemed_through(coupon, self.policy.source) if coupon else None,
        )
        return await self.record(attempt, "done", result)

    async def doubt(
        self, attempt: Attempt, cause: UpstreamError | None, *, checkable: bool | None = None
    ) -> Redemption:
        """Remember that the redeem may have been applied; the next request reads back first.

        `checkable`: whether a later read-back can tell (by default, whether the back end
        reads back at all; False when its answer just said it cannot tell).
        """
        if checkable is None:
            checkable = attempt.provider.capabilities.read_back
        result = unconfirmed(
            attempt.link, attempt.coupon_id, attempt.offer_id, cause, checkable=checkable
        )
        return await self.record(attempt, "unknown", result)

    async def record(self, attempt: Attempt, mode: Mode, result: Redemption) -> Redemption:
        result = result.with_receipt(attempt.receipt)
        if attempt.details.till:  # what the counter sent goes with every way it ends
            result = replace(result, till=attempt.details.till)
        if result.outcome is Outcome.REDEEMED or mode == "unknown":
            # A back end that cannot tell a redemption later relies on this memory alone.
            keep = max(self.policy.duplicate_window, attempt.provider.capabilities.remember)
        else:
            keep = self.policy.negative_window
        try:
            recorded = await self.store.settle(
                attempt.key,
                token=attempt.token,
                nonce=attempt.nonce,
                since=attempt.since,
                link=attempt.link,
                who=attempt.who,
                mode=mode,
                result=result,
                keep=keep,
                receipt_ttl=self.policy.receipt_ttl if attempt.keep_receipt else 0,
                audit=AuditFacts(
                    at=self.clock(),
                    backend=attempt.provider.name,
                    code=attempt.code,
                    staff=attempt.staff,
                    retry=attempt.doubt,
                ),
            )
        except StoreUnavailable as error:
            # The upstream has spoken; the member must still learn what it said. The claim
            # stays until its lease ends, and the next request then reads back first.
            log.error("settle_failed", error=type(error).__name__, outcome=result.outcome.value)
            return replace(result, receipt=None)
        if recorded is Settled.LOST:
            log.warning("claim_lost", reason="lease ran out before the upstream answered")
            if result.outcome is Outcome.REDEEMED:
                # Another attempt owns the coupon now and will settle it by reading back.
                return unconfirmed(
                    attempt.link, attempt.coupon_id, attempt.offer_id, None, checkable=True
                )
            return replace(result, receipt=None)
        if mode == "unknown":
            self.observer.doubt_left(attempt.provider.name)
        return result
