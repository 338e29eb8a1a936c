"""Every back end over real processes: `resolver serve` (two workers) in sandbox mode routes each
simulated back end's demo campaign to it, and concurrent taps redeem each coupon once."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import TYPE_CHECKING

from resolver_sandbox import DEMO

from tests.e2e.taps import link, phones, redeem_json

if TYPE_CHECKING:
    from collections.abc import Callable

    from resolver_bench.processes import Child

    from tests.e2e.upstream import Upstream

COUPONS = 5
TAPS_PER_COUPON = 4


async def test_every_back_end_redeems_each_coupon_once_across_workers(
    start_serve: Callable[..., Child], upstream: Upstream
) -> None:
    """Passworks, Skycore, Google Wallet, an in-house API and Badge, side by side: 5 coupons
    each, 4 simultaneous taps per coupon, one redeem call per coupon at each back end."""
    campaigns = DEMO.other_campaigns
    for api, campaign in campaigns.items():
        made = await upstream.client.post(
            f"/_sandbox/{api}/coupons",
            json={"count": COUPONS, "campaignId": campaign, "externalIdPrefix": "m-"},
        )
        assert made.status_code == 201, made.text
    await upstream.slow_redeems(50)
    serve = start_serve(workers=2)
    taps = [
        (campaign, f"m-{number}")
        for campaign in campaigns.values()
        for number in range(COUPONS)
        for _ in range(TAPS_PER_COUPON)
    ]
    async with phones(serve.url, len(taps)) as devices:
        answers = await asyncio.gather(
            *(
                redeem_json(device, link(campaign, member))
                for device, (campaign, member) in zip(devices, taps, strict=True)
            )
        )
    outcomes = {answer.json()["outcome"] for answer in answers}
    assert outcomes <= {"redeemed", "already_redeemed", "in_progress"}, outcomes
    successes = Counter(
        (answer.json()["campaignId"], answer.json()["externalId"])
        for answer in answers
        if answer.json()["outcome"] == "redeemed"
    )
    assert set(successes.values()) == {1}, successes  # one success told per coupon
    stats = (await upstream.client.get("/_sandbox/stats")).json()
    tallies = sorted(
        (tally["api"], tally["externalId"], tally["count"], tally["applied"])
        for tally in stats["coupons"].values()
    )
    assert tallies == sorted(
        (api, f"m-{number}", 1, 1) for api in campaigns for number in range(COUPONS)
    )
