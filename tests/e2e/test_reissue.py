"""A coupon reissued under the same external id, after the old one was redeemed."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tests.e2e.taps import link, phone, redeem_json
from tests.e2e.upstream import Tally
from tests.e2e.waiting import eventually

if TYPE_CHECKING:
    from collections.abc import Callable

    from resolver_bench.processes import Child

    from tests.e2e.upstream import Upstream

CAMPAIGN = "e2e-reissue"
LINK = link(CAMPAIGN, "member-0")


async def test_a_reissued_coupon_is_redeemed_once_the_duplicate_window_has_passed(
    start_serve: Callable[..., Child], upstream: Upstream
) -> None:
    """Within the window the API answers from the old coupon's success (already redeemed
    here: without a coupon id it cannot tell a reissue); after it, the new coupon redeems."""
    old_id = (await upstream.coupons(CAMPAIGN, "member-", 1))["member-0"]
    serve = start_serve(duplicate_window=1, negative_window=1)
    async with phone(serve.url) as client:
        first = (await redeem_json(client, LINK)).json()
        assert (first["outcome"], first["couponId"], first["replayed"]) == (
            "redeemed",
            old_id,
            False,
        )

        new_id = await upstream.reissue(CAMPAIGN, "member-0")
        replay = await redeem_json(client, LINK)
        assert replay.status_code == 409
        assert (replay.json()["couponId"], replay.json()["redeemedHere"]) == (old_id, True)

        async def new_coupon_redeemed() -> dict[str, object] | None:
            answer = await redeem_json(client, LINK)
            assert answer.status_code in (200, 409), answer.text
            body: dict[str, object] = answer.json()
            return body if body["couponId"] == new_id else None

        # Until the stored success expires every tap is a replay of the old coupon.
        second = await eventually(new_coupon_redeemed, within=10, what="the new coupon's redeem")
        assert (second["outcome"], second["replayed"]) == ("redeemed", False)

    assert await upstream.tallies() == {
        old_id: Tally(calls=1, applied=1),
        new_id: Tally(calls=1, applied=1),
    }
