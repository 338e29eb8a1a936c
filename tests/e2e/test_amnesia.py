"""Redis forgets while dozens of redemptions are in flight, across two replicas, against a back
end that would apply a second redeem: a FLUSHALL, and a restart with an empty dataset. Every
coupon is tapped again at once right after the loss; none is redeemed twice."""

from __future__ import annotations

import asyncio
import secrets
from collections import Counter
from typing import TYPE_CHECKING

import pytest
import redis
from resolver_bench import processes

from tests.e2e.taps import link, phones, redeem_json
from tests.e2e.upstream import Tally
from tests.e2e.waiting import eventually
from tests.support.redis_server import RedisServer

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    import httpx
    from resolver_bench.processes import Child

    from tests.e2e.upstream import Upstream

CAMPAIGN = "e2e-amnesia"
COUPONS = 40
REDEEM_LATENCY_MS = 1_500


def outcome(answer: httpx.Response | BaseException) -> str:
    if isinstance(answer, BaseException):
        return type(answer).__name__
    return f"{answer.status_code} {answer.json()['outcome']}"


@pytest.mark.parametrize("loss", ["flushall", "restart"])
async def test_redis_forgetting_mid_flight_redeems_nothing_twice(
    start_serve: Callable[..., Child], upstream: Upstream, tmp_path: Path, loss: str
) -> None:
    """40 redeems upstream on two replicas, Redis loses everything, all 40 tapped again at
    once: exactly one redeem call per coupon, and no tap is told a second success."""
    ids = await upstream.coupons(CAMPAIGN, "forgot-", COUPONS)
    await upstream.slow_redeems(REDEEM_LATENCY_MS, accept_repeats=True)
    with RedisServer(tmp_path) as server:
        secret = secrets.token_hex(16)  # one deployment: every replica names keys alike
        replicas = [
            start_serve(redis_url=server.url, secret_key=secret),
            start_serve(redis_url=server.url, secret_key=secret),
        ]
        processes.wait_for_workers(server.url, 2)
        async with phones(replicas[0].url, COUPONS) as one, phones(replicas[1].url, COUPONS) as two:
            devices = [(one, two)[number % 2][number] for number in range(COUPONS)]
            others = [(two, one)[number % 2][number] for number in range(COUPONS)]
            first = [
                asyncio.create_task(redeem_json(device, link(CAMPAIGN, f"forgot-{number}")))
                for number, device in enumerate(devices)
            ]

            async def all_upstream() -> bool | None:
                return len(await upstream.tallies()) == COUPONS or None

            await eventually(all_upstream, within=10, what="every first redeem upstream")
            if loss == "flushall":
                client = redis.Redis.from_url(server.url)
                client.flushall()
                client.close()
            else:
                server.restart()
            again = await asyncio.gather(
                *(
                    redeem_json(device, link(CAMPAIGN, f"forgot-{number}"))
                    for number, device in enumerate(others)
                ),
                return_exceptions=True,
            )
            firsts = await asyncio.gather(*first, return_exceptions=True)
    print(  # the figures for the record
        f"\n{loss}: first taps {dict(Counter(map(outcome, firsts)))}; "
        f"taps after the loss {dict(Counter(map(outcome, again)))}"
    )
    assert {outcome(answer) for answer in firsts} == {"200 redeemed"}
    assert not {outcome(answer) for answer in again} & {"200 redeemed"}
    assert await upstream.tallies() == dict.fromkeys(ids.values(), Tally(calls=1, applied=1))
