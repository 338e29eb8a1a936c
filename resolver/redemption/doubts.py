"""Settling an earlier attempt's doubt from a look at the coupon, outside any claim: what a
preview and a receipt page do when the owner of an attempt is gone or left it unknown, and what
a preview adds of this service's own record to what the back end says.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import structlog

from resolver.domain.coupons import (
    CouponState,
    coupon_state,
    redeemed_by_attempt,
    redeemed_through,
)
from resolver.domain.redemptions import OUTCOME_FOR_STATE, Outcome, Redemption
from resolver.domain.results import DETAILS, settled, unconfirmed
from resolver.redemption.observer import UNOBSERVED
from resolver.redemption.ports import AuditFacts, receipt_id

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime

    from resolver.domain.coupons import Coupon, Link, Offer
    from resolver.redemption.observer import Observer
    from resolver.redemption.policy import Policy
    from resolver.redemption.ports import ClaimStore, Held, Provider

log = structlog.get_logger("resolver.redemption")


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


@dataclass(frozen=True, slots=True)
class Doubts:
    """Settles doubts from read-backs made outside any claim."""

    store: ClaimStore
    policy: Policy
    clock: Callable[[], datetime]
    observer: Observer = UNOBSERVED
    code: Callable[[str], str] = lambda receipt: ""  # a receipt's verification code

    async def settle(
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
        self.observer.read_back(provider.name, "ok")
        receipt = receipt_id(key, held.nonce)
        if coupon is not None and not coupon.use_known:
            # Nothing can tell whether the earlier attempt was applied.
            return unconfirmed(
                link, coupon.id, coupon.offer_id, None, checkable=False
            ).with_receipt(receipt)
        state = coupon_state(coupon, offer, self.clock())
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
                redeemed_at=redeemed_at or self.clock(),
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
            audit=AuditFacts(
                at=self.clock(), backend=provider.name, code=self.code(receipt), retry=True
            ),
        )  # fmt: skip
        log.info("doubt_settled", outcome=result.outcome.value)
        return result


def with_our_record(preview: Preview, held: Held, source: str) -> Preview:
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
