"""Who may open a store's counter view: that store's code of the moment, or one of its PINs.

    a code: take a try (locked? refused) → this store's code? a PIN of this store's staff?
            yes → give the try back, and say who; no → refused, with the tries left

The same rules and the same counters as a code typed on a member's phone: a try is taken before
the check, per store (where a redemption's code counts per coupon link) and per client network,
the client's counter being the very one redemptions use, so guesses at the counter and on coupons
share one budget. A right code of another store opens nothing here, and says nothing about whose
it was.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import structlog

from resolver.domain.errors import VerificationFailed, VerificationLocked
from resolver.domain.redemptions import Attribution
from resolver.staff.credentials import normalize

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime

    from resolver.staff.directory import StaffDirectory
    from resolver.staff.verification import Tries

# Prefixes the store in the lockout's per-link key: no link's keyed hash holds a "." or "-".
COUNTER_KEY = "counter."


class CounterAccess:
    """Checks the code a staff device opens one store's counter view with."""

    def __init__(
        self,
        directory: StaffDirectory,
        lockout: Tries,
        *,
        drift: int,
        clock: Callable[[], datetime],
    ) -> None:
        self.directory = directory
        self.lockout = lockout
        self.drift = drift
        self._clock = clock

    def store_name(self, store_id: str) -> str | None:
        """The store's display name, or None when the staff file has no such store."""
        store = self.directory.spec.stores.get(store_id)
        return None if store is None else store.name or store_id

    def timezone(self, store_id: str) -> str | None:
        """The store's IANA time zone, when the staff file gives one."""
        store = self.directory.spec.stores.get(store_id)
        return store.timezone if store else None

    def employee_name(self, store_id: str, employee_id: str) -> str:
        employee = self.directory.employee(store_id, employee_id)
        return (employee.name if employee else None) or employee_id

    async def verify(self, store_id: str, code: str, client: str) -> Attribution:
        """Who opened the view: the store (its code) or one of its employees (a PIN).

        Raises VerificationFailed (with the tries left) or VerificationLocked (with the
        seconds to wait); an empty code is a wrong one.
        """
        typed = normalize(code)
        try:
            taken = await self.lockout.take(COUNTER_KEY + store_id, client)
        except VerificationLocked:
            structlog.contextvars.bind_contextvars(verification="locked")
            raise
        who = await self._identify(store_id, typed) if typed else None
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

    async def _identify(self, store_id: str, code: str) -> Attribution | None:
        store_code = self.directory.code(store_id)
        if store_code is not None and store_code.verify(code, self._clock(), self.drift):
            return Attribution(store_id, self.store_name(store_id) or store_id)
        who = await self.directory.by_pin(code)
        return who if who is not None and who.store_id == store_id else None
