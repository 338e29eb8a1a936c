"""What every simulated API other than PassKit's does around a call: count it and its answer,
delay it, and let the shared faults strike, each in that API's own error shape.

The faults (`PUT /_sandbox/faults`) and the stats (`GET /_sandbox/stats`) are the sandbox's
own, shared by every API it simulates: one fault config hits PassKit, Passworks, Skycore,
Google Wallet and the generic back ends alike, and one stats document counts them all.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from resolver_sandbox.faults import held_until_released

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from starlette.requests import Request
    from starlette.responses import Response

    from resolver_sandbox.state import SandboxState
    from resolver_sandbox.stats import Redeemable

    # An API's "service unavailable" answer, with the message given.
    Unavailable = Callable[[str], Response]


class Gate:
    """One simulated API's way through the shared stats, faults and baseline latency."""

    def __init__(self, state: SandboxState, api: str, *, latency_ms: float = 0.0) -> None:
        self._state = state
        self._api = api
        self._baseline_s = latency_ms / 1000.0

    async def counted(
        self, request: Request, endpoint: str, handle: Callable[[], Awaitable[Response]]
    ) -> Response:
        """Count the call to `endpoint` ("POST /passworks/…/redeem") and the status it got."""
        stats = self._state.stats
        stats.count_call(f"{request.method} {endpoint}")
        response = await handle()
        stats.count_status(response.status_code)
        return response

    async def read_fault(self, unavailable: Unavailable) -> Response | None:
        """Delay a read; the answer a fault gives it instead, or None to go on."""
        await self._delay(redeem=False)
        if self._state.faults.roll_unavailable(redeem=False):
            return unavailable("sandbox fault: service unavailable")
        return None

    async def redeem_fault(self, request: Request, unavailable: Unavailable) -> Response | None:
        """Delay a redeem; the answer a fault gives it instead (503, or a hang), or None."""
        await self._delay(redeem=True)
        faults = self._state.faults
        if faults.roll_unavailable(redeem=True):
            return unavailable("sandbox fault: service unavailable")
        if not faults.config.hang:
            return None
        if await held_until_released(faults, request.receive):
            return unavailable("sandbox fault: hung call released")
        return unavailable("client gave up")

    @property
    def apply_then_fail(self) -> bool:
        """Whether a redeem that applied must still answer with an error."""
        return self._state.faults.config.apply_then_fail

    def count_redeem(self, record: Redeemable | None) -> None:
        """One redeem call named `record` (None: nothing the sandbox has)."""
        self._state.stats.count_redeem(record, self._api)

    def count_applied(self, record: Redeemable) -> None:
        """A redeem call changed `record` to redeemed."""
        self._state.stats.count_applied(record, self._api)

    async def _delay(self, *, redeem: bool) -> None:
        seconds = self._baseline_s + self._state.faults.latency(redeem=redeem)
        if seconds > 0:
            await asyncio.sleep(seconds)
