"""Many taps at once on real worker processes: each coupon gets exactly one redeem call."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from typing import TYPE_CHECKING

import pytest

from tests.e2e.taps import RECEIPT, confirm, link, open_link, page_state, phones, redeem_json
from tests.e2e.upstream import Tally

if TYPE_CHECKING:
    from collections.abc import Callable

    import httpx
    from resolver_bench.processes import Child

    from tests.e2e.upstream import Upstream

CAMPAIGN = "e2e-taps"
COUPONS = 40
TAPS_PER_COUPON = 5
REDEEM_LATENCY_MS = 100


@pytest.mark.parametrize("workers", [1, 2])
async def test_200_concurrent_taps_redeem_each_coupon_exactly_once(
    start_serve: Callable[..., Child], upstream: Upstream, workers: int
) -> None:
    """40 coupons x 5 taps, JSON and form mixed, all at once: one redeem call per coupon."""
    await taps_redeem_each_coupon_once(start_serve, upstream, workers)


async def taps_redeem_each_coupon_once(
    start_serve: Callable[..., Child], upstream: Upstream, workers: int
) -> None:
    """The body of the test above, for the same run on other Redis topologies."""
    ids = await upstream.coupons(CAMPAIGN, "tap-", COUPONS)
    await upstream.slow_redeems(REDEEM_LATENCY_MS)
    serve = start_serve(workers=workers)
    taps = [
        (external_id, "json" if (number + tap) % 2 else "form")
        for number, external_id in enumerate(ids)
        for tap in range(TAPS_PER_COUPON)
    ]
    async with phones(serve.url, len(taps)) as devices:
        # Forms are opened first, so that every one of the 200 taps is a redemption racing.
        forms = await asyncio.gather(
            *(
                open_link(device, link(CAMPAIGN, external_id))
                for device, (external_id, kind) in zip(devices, taps, strict=True)
                if kind == "form"
            )
        )
        form_for = iter(forms)

        async def tap(device: httpx.AsyncClient, external_id: str, kind: str) -> httpx.Response:
            if kind == "json":
                return await redeem_json(device, link(CAMPAIGN, external_id))
            return await confirm(device, next(form_for))

        answers = await asyncio.gather(
            *(tap(device, *what) for device, what in zip(devices, taps, strict=True))
        )

        # Each coupon's one success is told once: to a form (a receipt) or to a JSON call;
        # every other tap learns that this service redeemed it, or that it is in progress.
        successes: dict[str, int] = defaultdict(int)
        for (external_id, kind), answer in zip(taps, answers, strict=True):
            if kind == "form":
                if answer.status_code == 303:
                    assert RECEIPT.fullmatch(answer.headers["location"])
                    page = await devices[0].get(answer.headers["location"])
                    assert page_state(page) == "success", external_id
                    successes[external_id] += 1
                else:
                    assert answer.status_code == 200, answer.text[:300]
                    assert page_state(answer) in ("already", "progress"), answer.text[:300]
                continue
            body = answer.json()
            if answer.status_code == 409:
                assert body["outcome"] in ("already_redeemed", "in_progress")
                continue
            assert answer.status_code == 200, body
            assert (body["outcome"], body["couponId"]) == ("redeemed", ids[external_id])
            successes[external_id] += 1
        assert set(successes.values()) == {1}, successes
        assert len(successes) == len(ids)

    assert await upstream.tallies() == dict.fromkeys(ids.values(), Tally(calls=1, applied=1))
