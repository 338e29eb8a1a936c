"""What the use case tells its observer (the metrics): outcomes, waits, read-backs, doubts."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from resolver.app import create_app
from resolver.domain.coupons import Link
from resolver.domain.redemptions import Outcome
from resolver.redemption import Redemptions
from tests.conftest import serving

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from redis.asyncio import Redis

    from resolver.domain.redemptions import Redemption
    from resolver.redemption.observer import ClaimWait, ReadBack
    from resolver.settings import Settings
    from resolver.web.services import Services
    from tests.support.passkit import PassKitDouble

LINK = Link("camp-1", "member-1")


@dataclass
class Recorder:
    """An observer that keeps what it was told."""

    events: list[tuple[str, ...]] = field(default_factory=list)

    def redeemed(self, backend: str, result: Redemption) -> None:
        self.events.append(("redeemed", backend, result.outcome.value))

    def waited(self, backend: str, ended: ClaimWait) -> None:
        self.events.append(("waited", backend, ended))

    def read_back(self, backend: str, result: ReadBack) -> None:
        self.events.append(("read_back", backend, result))

    def doubt_left(self, backend: str) -> None:
        self.events.append(("doubt_left", backend))


def observed(services: Services, recorder: Recorder) -> Redemptions:
    """The app's use case with the same ports, told to `recorder`."""
    used = services.redemptions
    return Redemptions(used.providers, used.store, used.names, used.policy, observer=recorder)


async def test_a_success_is_told_once_with_its_back_end(
    settings: Settings, passkit: PassKitDouble, redis: Redis
) -> None:
    """One redemption, one `redeemed`, nothing else."""
    passkit.add("member-1")
    recorder = Recorder()
    async with serving(create_app(settings)) as services:
        result = await observed(services, recorder).redeem(LINK)
    assert result.outcome is Outcome.REDEEMED
    assert recorder.events == [("redeemed", "passkit", "redeemed")]


async def test_a_tap_meeting_an_attempt_in_flight_is_told_how_its_wait_ended(
    make_settings: Callable[..., Settings], passkit: PassKitDouble, redis: Redis
) -> None:
    """Within the bound it learns the first's result (coalesced); past it, "in progress"."""
    passkit.add("member-1")
    passkit.latency = 0.4
    recorder = Recorder()
    async with serving(create_app(make_settings())) as services:
        redemptions = observed(services, recorder)
        first, second = await asyncio.gather(
            redemptions.redeem(LINK), _after(0.1, redemptions.redeem(LINK))
        )
    assert (first.outcome, second.outcome) == (Outcome.REDEEMED, Outcome.ALREADY_REDEEMED)
    assert ("waited", "passkit", "coalesced") in recorder.events
    passkit.add("member-2")
    recorder.events.clear()
    async with serving(create_app(make_settings(coalesce_wait=0.1))) as services:
        redemptions = observed(services, recorder)
        link = Link("camp-1", "member-2")
        _, late = await asyncio.gather(
            redemptions.redeem(link), _after(0.1, redemptions.redeem(link))
        )
    assert late.outcome is Outcome.IN_PROGRESS
    assert ("waited", "passkit", "in_progress") in recorder.events


async def test_an_unclear_redeem_is_told_as_a_failed_read_back_and_a_doubt(
    settings: Settings, passkit: PassKitDouble, redis: Redis
) -> None:
    """Applied then 5xx, the read-back times out: a doubt; the next tap reads back first."""
    passkit.add("member-1")
    passkit.redeem_fault = "error_after_apply"
    passkit.lookup_fault = "timeout"
    recorder = Recorder()
    async with serving(create_app(settings)) as services:
        redemptions = observed(services, recorder)
        assert (await redemptions.redeem(LINK)).outcome is Outcome.UNCONFIRMED
        passkit.redeem_fault = None
        passkit.lookup_fault = None
        await redemptions.redeem(LINK)
    assert recorder.events == [
        ("read_back", "passkit", "failed"),
        ("doubt_left", "passkit"),
        ("redeemed", "passkit", "unconfirmed"),
        ("read_back", "passkit", "ok"),
        ("redeemed", "passkit", "redeemed"),
    ]


async def _after(seconds: float, call: Awaitable[Redemption]) -> Redemption:
    await asyncio.sleep(seconds)
    return await call
