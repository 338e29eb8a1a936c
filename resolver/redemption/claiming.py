"""Taking a coupon link's claim for one request: waiting (bounded) while another attempt holds
it, counted once against the coupon's limit however often the wait re-checks, and given back
as it was when the client turns out to be over its budget.
"""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import structlog

from resolver.domain.errors import RateLimited
from resolver.domain.redemptions import Outcome, Redemption
from resolver.domain.results import in_progress
from resolver.redemption.observer import UNOBSERVED
from resolver.redemption.ports import Claim, ClaimKind, new_nonce, receipt_id

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable
    from datetime import datetime

    from resolver.domain.coupons import Link
    from resolver.redemption.observer import Observer
    from resolver.redemption.policy import Policy
    from resolver.redemption.ports import ClaimStore, Provider

log = structlog.get_logger("resolver.redemption")

# First and last pause between re-checks while waiting for a redemption in flight; the
# notifier usually wakes the waiter long before the pause ends.
FIRST_PAUSE = 0.05
LAST_PAUSE = 0.5


@dataclass(frozen=True, slots=True)
class Claims:
    """Claims links for the requests of one process."""

    store: ClaimStore
    policy: Policy
    clock: Callable[[], datetime]
    observer: Observer = UNOBSERVED

    async def take(
        self,
        provider: Provider,
        *,
        key: str,
        link: Link,
        token: str,
        who: str,
        form_token: str | None,
        expected: str,
        admit: Callable[[], Awaitable[None]] | None,
    ) -> Claim | Redemption:
        """The claim, or "in progress" when waiting for another attempt outlasts the bound."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.policy.coalesce_wait
        pause, first, waited = FIRST_PAUSE, True, False
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
                claim = await self._if_admitted(
                    key=key, link=link, token=token, claiming=claiming, admit=admit, who=who
                )
            else:
                claim = await claiming
            first = False
            if claim.kind is ClaimKind.LIMITED:
                raise RateLimited(max(1, math.ceil(claim.wait)), scope="coupon")
            if claim.kind not in (ClaimKind.BUSY, ClaimKind.QUARANTINE):
                if waited:
                    coalesced = claim.kind is ClaimKind.DONE
                    self.observer.waited(provider.name, "coalesced" if coalesced else "claimed")
                return claim
            remaining = deadline - loop.time()
            if claim.kind is ClaimKind.QUARANTINE:
                log.warning("redis_forgot", wait=round(claim.wait, 1))
                if claim.wait > remaining:  # no use waiting: say when to come back
                    return in_progress(link, None, math.ceil(claim.wait))
                await asyncio.sleep(claim.wait)
                continue
            waited = True
            if remaining <= 0:
                self.observer.waited(provider.name, "in_progress")
                # Only the request itself may follow the attempt to its receipt: anyone else
                # is told to come back, and then learns how it ended.
                return in_progress(link, receipt_id(key, claim.nonce) if claim.mine else None)
            await self.store.wait(key, min(remaining, pause))
            pause = min(pause * 2, LAST_PAUSE)

    async def _if_admitted(
        self,
        *,
        key: str,
        link: Link,
        token: str,
        claiming: Awaitable[Claim],
        admit: Callable[[], Awaitable[None]],
        who: str,
    ) -> Claim:
        # The admission runs alongside the claim's round trip, as a task of its own; the claim
        # runs in this one (a task fewer than gathering both).
        admission = asyncio.ensure_future(admit())
        try:
            claim = await claiming
        except BaseException:
            await asyncio.wait([admission])  # ends either way; the claim's failure is the answer
            raise
        try:
            await admission
        except Exception:
            if claim.kind in (ClaimKind.CLAIMED, ClaimKind.RECONCILE, ClaimKind.FORGOTTEN):
                # Give the claim back as it was: free, or still in doubt (an earlier attempt
                # may have been applied, so the next tap must read back before redeeming).
                doubt = claim.kind is not ClaimKind.CLAIMED
                await self.store.settle(
                    key, token=token, nonce=claim.nonce, since=claim.since or self.clock(),
                    link=link, who=who, mode="unknown" if doubt else "release",
                    result=Redemption(Outcome.UPSTREAM_ERROR, link, detail="not admitted"),
                    keep=self.policy.duplicate_window, receipt_ttl=0,
                )  # fmt: skip
            raise
        return claim
