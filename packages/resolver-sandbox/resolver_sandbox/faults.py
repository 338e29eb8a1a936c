"""Injected failures: extra latency, random 503s, redeems that fail after applying, hangs, and
a PassKit that forgets its single-use rule (a second redeem of a redeemed coupon answers 200).

A test switches faults on through `PUT /_sandbox/faults`; they last until cleared or reset.
The dice behind `errorRate` are a `random.Random` seeded from the config, so the same config
and the same sequence of calls give the same failures on every run.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from resolver_sandbox.errors import BadRequest
from resolver_sandbox.payloads import boolean, number, reject_unknown, string

if TYPE_CHECKING:
    from starlette.types import Receive

    from resolver_sandbox.payloads import Body
    from resolver_sandbox.records import JSONObject

Scope = Literal["redeem", "all"]
_FIELDS = frozenset(
    {"latencyMs", "errorRate", "applyThenFail", "hang", "acceptRepeats", "scope", "seed"}
)


@dataclass(frozen=True, slots=True)
class FaultConfig:
    """Which faults are on.

    `latency_ms` and `error_rate` hit the calls `scope` names (every PassKit call, or redeem
    only); `apply_then_fail`, `hang` and `accept_repeats` only ever concern redeem calls.
    `accept_repeats` makes PassKit behave like a back end without a single-use rule (an update
    call): a redeem of a redeemed coupon is applied again and answered 200, so only the
    resolver stands between a member and a second redemption.
    """

    latency_ms: float = 0.0
    error_rate: float = 0.0
    apply_then_fail: bool = False
    hang: bool = False
    accept_repeats: bool = False
    scope: Scope = "all"
    seed: int = 0

    @classmethod
    def from_json(cls, body: Body) -> FaultConfig:
        """A config from a `PUT /_sandbox/faults` body; absent fields are off."""
        reject_unknown(body, _FIELDS, "faults")
        latency_ms = number(body, "latencyMs")
        error_rate = number(body, "errorRate")
        scope = string(body, "scope") or "all"
        seed = number(body, "seed")
        if latency_ms < 0:
            raise BadRequest("latencyMs must not be negative")
        if not 0.0 <= error_rate <= 1.0:
            raise BadRequest("errorRate must be between 0 and 1")
        if scope not in ("redeem", "all"):
            raise BadRequest('scope must be "redeem" or "all"')
        if seed != int(seed):
            raise BadRequest("seed must be a whole number")
        return cls(
            latency_ms=latency_ms,
            error_rate=error_rate,
            apply_then_fail=boolean(body, "applyThenFail"),
            hang=boolean(body, "hang"),
            accept_repeats=boolean(body, "acceptRepeats"),
            scope="redeem" if scope == "redeem" else "all",
            seed=int(seed),
        )

    def to_json(self) -> JSONObject:
        """The config as `GET /_sandbox/faults` shows it."""
        return {
            "latencyMs": self.latency_ms,
            "errorRate": self.error_rate,
            "applyThenFail": self.apply_then_fail,
            "hang": self.hang,
            "acceptRepeats": self.accept_repeats,
            "scope": self.scope,
            "seed": self.seed,
        }


class Faults:
    """The fault config in force, its seeded dice, and the redeem calls it is holding hung."""

    def __init__(self) -> None:
        self.config = FaultConfig()
        self._dice = random.Random(self.config.seed)  # noqa: S311  (test dice, not secrets)
        self._hung: set[asyncio.Future[None]] = set()

    def configure(self, config: FaultConfig) -> None:
        """Put `config` in force; hung calls are let go when it no longer hangs."""
        self.config = config
        self._dice = random.Random(config.seed)  # noqa: S311  (test dice, not secrets)
        if not config.hang:
            self.release_hung()

    def clear(self) -> None:
        """Switch every fault off and let hung calls go."""
        self.configure(FaultConfig())

    def latency(self, *, redeem: bool) -> float:
        """Extra seconds a call waits before it is answered."""
        config = self.config
        if config.latency_ms and (redeem or config.scope == "all"):
            return config.latency_ms / 1000.0
        return 0.0

    def roll_unavailable(self, *, redeem: bool) -> bool:
        """Whether this call is answered 503 without touching any coupon."""
        config = self.config
        if not config.error_rate or not (redeem or config.scope == "all"):
            return False
        return self._dice.random() < config.error_rate

    async def hold(self) -> None:
        """Wait until hung calls are released (by clear, reset, a new config or shutdown)."""
        waiter = asyncio.get_running_loop().create_future()
        self._hung.add(waiter)
        try:
            await waiter
        finally:
            self._hung.discard(waiter)

    @property
    def hung(self) -> int:
        """How many calls are being held right now."""
        return len(self._hung)

    def release_hung(self) -> None:
        """Let every held call go; safe to call from any thread (`SandboxHandle.stop` does)."""
        for waiter in list(self._hung):
            loop = waiter.get_loop()
            if not loop.is_closed():
                loop.call_soon_threadsafe(_resolve, waiter)


def _resolve(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


async def held_until_released(faults: Faults, receive: Receive) -> bool:
    """Hold a hung call until the fault lets it go (True) or its client hangs up (False).

    Watching for the disconnect keeps a client's timeout from leaving the call held forever.
    """
    released = asyncio.ensure_future(faults.hold())
    gone = asyncio.ensure_future(_client_gone(receive))
    try:
        await asyncio.wait((released, gone), return_when=asyncio.FIRST_COMPLETED)
    finally:
        released.cancel()
        gone.cancel()
    return released.done() and not released.cancelled()


async def _client_gone(receive: Receive) -> None:
    # The body has been read, so the next message the server sends is the disconnect.
    while (await receive())["type"] != "http.disconnect":
        pass
