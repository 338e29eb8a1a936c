"""SIGTERM while redemptions are in flight: a deploy or a scale-down must lose no answer."""

from __future__ import annotations

import asyncio
import signal
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from tests.e2e.taps import confirm, link, open_link, phones, redeem_json
from tests.e2e.upstream import Tally
from tests.e2e.waiting import eventually

if TYPE_CHECKING:
    from collections.abc import Callable

    from resolver.bench.processes import Child
    from tests.e2e.upstream import Upstream

CAMPAIGN = "e2e-shutdown"
# Long enough that SIGTERM reaches the workers while every redeem is still upstream: the
# multi-worker supervisor looks at its signals only every 0.5 s.
REDEEM_LATENCY_MS = 1_500
SINGLE_TAPS, REPEATED, TAPS_EACH = 10, 10, 4  # 10 + 10 x 4 = 50 taps on 20 coupons


class SentCounter:
    """Counts the requests whose body httpx has finished sending (an httpcore trace hook)."""

    def __init__(self) -> None:
        self.sent = 0

    async def __call__(self, event: str, info: dict[str, Any]) -> None:
        if event == "http11.send_request_body.complete":
            self.sent += 1


@pytest.mark.parametrize("workers", [1, 2])
async def test_sigterm_answers_every_request_in_flight_and_redeems_nothing_twice(
    start_serve: Callable[..., Child], upstream: Upstream, workers: int
) -> None:
    """50 taps held by a slow upstream, then SIGTERM: all answered, exit 0, one call a coupon."""
    ids = await upstream.coupons(CAMPAIGN, "stop-", SINGLE_TAPS + REPEATED)
    await upstream.slow_redeems(REDEEM_LATENCY_MS)
    serve = start_serve(workers=workers)
    coupons = list(ids)
    taps = [(external_id, 1) for external_id in coupons[:SINGLE_TAPS]]
    taps += [(external_id, n) for external_id in coupons[SINGLE_TAPS:] for n in range(TAPS_EACH)]
    sent = SentCounter()
    async with phones(serve.url, len(taps)) as devices:
        forms = {
            index: await open_link(devices[index], link(CAMPAIGN, external_id))
            for index, (external_id, n) in enumerate(taps)
            if n % 2
        }

        async def tap(index: int, external_id: str) -> httpx.Response:
            if index in forms:
                return await confirm(devices[index], forms[index], trace=sent)
            return await redeem_json(devices[index], link(CAMPAIGN, external_id), trace=sent)

        in_flight = [
            asyncio.create_task(tap(index, external_id))
            for index, (external_id, _) in enumerate(taps)
        ]

        async def all_started() -> bool | None:
            # Every request is sent, and every coupon's first one has reached the upstream.
            tallies = await upstream.tallies()
            return (sent.sent == len(taps) and len(tallies) == len(ids)) or None

        await eventually(all_started, within=5, what="all 50 taps in flight")
        serve.signal(signal.SIGTERM)
        answers = await asyncio.gather(*in_flight, return_exceptions=True)

    broken = [answer for answer in answers if isinstance(answer, BaseException)]
    assert not broken, broken  # no reset connection, no empty reply
    for index, answer in enumerate(answers):
        assert isinstance(answer, httpx.Response)
        if index in forms:
            # the redeeming form's receipt, or another form told it is used or in progress
            assert answer.status_code in (200, 303)
        elif answer.status_code == 409:
            assert answer.json()["outcome"] in ("in_progress", "already_redeemed")
        else:
            assert (answer.status_code, answer.json()["outcome"]) == (200, "redeemed")
    assert await asyncio.to_thread(serve.wait) == 0
    # uvicorn says this only when requests were still open at shutdown: the test hit its mark.
    assert "Waiting for connections to close" in serve.output()
    assert await upstream.tallies() == dict.fromkeys(ids.values(), Tally(calls=1, applied=1))
