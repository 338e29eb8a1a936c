"""The check a redemption passes before it may claim its coupon, when a campaign asks for staff.

    policy off ........................ nothing to check (a code sent anyway is ignored)
    no code: required → refused; optional → redeemed without attribution
    a code: take a try (locked? refused) → a store's code of the moment? an employee's PIN?
            yes → give the try back, and say who; no → refused, with the tries left

It runs before the claim, so a wrong or missing code never touches the coupon's state, the
member's one-time form token or the upstream. Store codes are checked first (cheap HMACs); a PIN
costs one slow hash. The canonical log line learns the outcome and who verified (ids only);
never the code.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import structlog

from resolver.domain.errors import VerificationFailed, VerificationLocked, VerificationRequired
from resolver.staff.credentials import normalize

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime

    from resolver.domain.redemptions import Attribution, VerificationPolicy
    from resolver.staff.directory import StaffDirectory


@dataclass(frozen=True, slots=True)
class Taken:
    """A try taken on both counters; `left` is how many remain if this one fails."""

    keys: tuple[str, str]
    left: int


class Tries(Protocol):
    """Wrong-code counters per coupon link and per client (`resolver.storage.lockout`)."""

    period: float

    async def take(self, coupon: str, client: str) -> Taken:
        """Take a try; raise VerificationLocked when either counter has none left."""
        ...

    async def give_back(self, taken: Taken) -> None:
        """The code was right: the try was no failure."""
        ...


class StaffCheck:
    """Verification policies per campaign, and the check itself."""

    def __init__(
        self,
        directory: StaffDirectory | None,
        lockout: Tries,
        *,
        default: VerificationPolicy,
        drift: int,
        clock: Callable[[], datetime],
    ) -> None:
        self.directory = directory
        self.lockout = lockout
        self.default = default
        self.drift = drift
        self._clock = clock

    def policy(self, campaign_id: str) -> VerificationPolicy:
        """The campaign's own policy from the staff file, else the deployment's."""
        if self.directory is None:
            return self.default
        return self.directory.policy(campaign_id, self.default)

    async def verify(
        self, coupon: str, *, campaign_id: str, code: str | None, client: str
    ) -> Attribution | None:
        """Who verified this redemption of the link hashed `coupon`, or None when nobody had to.

        Raises VerificationRequired, VerificationFailed (with the tries left) or
        VerificationLocked (with the seconds to wait).
        """
        policy = self.policy(campaign_id)
        if policy == "off":
            return None
        typed = normalize(code or "")
        if not typed:
            if policy == "required":
                structlog.contextvars.bind_contextvars(verification="missing")
                raise VerificationRequired("a staff code is required")
            return None
        try:
            taken = await self.lockout.take(coupon, client)
        except VerificationLocked:
            structlog.contextvars.bind_contextvars(verification="locked")
            raise
        who = await self._identify(typed)
        if who is None:
            structlog.contextvars.bind_contextvars(verification="failed", tries_left=taken.left)
            if taken.left <= 0:
                raise VerificationLocked(max(1, int(self.lockout.period)))
            raise VerificationFailed(taken.left)
        await self.lockout.give_back(taken)
        structlog.contextvars.bind_contextvars(
            verification=who.method, staff_store=who.store_id, staff_employee=who.employee_id
        )
        return who

    async def _identify(self, code: str) -> Attribution | None:
        if self.directory is None:
            return None
        found = self.directory.by_store_code(code, self._clock(), self.drift)
        return found or await self.directory.by_pin(code)
