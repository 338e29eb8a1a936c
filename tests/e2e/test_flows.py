"""The member's flow and the JSON flow against `resolver serve` and an external sandbox."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tests.e2e.taps import RECEIPT, confirm, link, open_link, page_state, phone, redeem_json
from tests.e2e.upstream import Tally

if TYPE_CHECKING:
    from collections.abc import Callable

    from resolver_bench.processes import Child

    from tests.e2e.upstream import Upstream

CAMPAIGN = "e2e-flows"
WORKERS = pytest.mark.parametrize("workers", [1, 2])


@WORKERS
async def test_the_member_redeems_through_the_form_once(
    start_serve: Callable[..., Child], upstream: Upstream, workers: int
) -> None:
    """Link, confirm, 303, receipt; reloads, a second submit and reopening redeem nothing."""
    ids = await upstream.coupons(CAMPAIGN, "member-", 1)
    serve = start_serve(workers=workers)
    async with phone(serve.url) as client:
        form = await open_link(client, link(CAMPAIGN, "member-0"))
        assert (form["campaignId"], form["externalId"]) == (CAMPAIGN, "member-0")

        answer = await confirm(client, form)
        assert answer.status_code == 303
        receipt = answer.headers["location"]
        assert RECEIPT.fullmatch(receipt)
        for _ in range(3):
            page = await client.get(receipt)
            assert (page.status_code, page_state(page)) == (200, "success")

        # A double tap or the back button submits the same token: the same receipt again.
        again = await confirm(client, form)
        assert (again.status_code, again.headers["location"]) == (303, receipt)
        reopened = await client.get("/redeem", params=link(CAMPAIGN, "member-0"))
        assert page_state(reopened) == "already"

    assert await upstream.tallies() == {ids["member-0"]: Tally(calls=1, applied=1)}


@WORKERS
async def test_the_json_api_redeems_then_replays_and_says_what_it_cannot_redeem(
    start_serve: Callable[..., Child], upstream: Upstream, workers: int
) -> None:
    """200 redeemed; the same Idempotency-Key again is 200 replayed, another request 409
    already redeemed here; an unknown id is 404."""
    ids = await upstream.coupons(CAMPAIGN, "till-", 1)
    serve = start_serve(workers=workers)
    key = {"idempotency-key": "till-2:sale-1"}
    async with phone(serve.url) as client:
        first = await client.post("/api/v1/redeem", json=link(CAMPAIGN, "till-0"), headers=key)
        assert first.status_code == 200
        redeemed = first.json()
        assert redeemed["outcome"] == "redeemed"
        assert redeemed["replayed"] is False
        assert redeemed["couponId"] == ids["till-0"]

        for _ in range(3):  # with two workers these land on either of them
            repeat = await client.post("/api/v1/redeem", json=link(CAMPAIGN, "till-0"), headers=key)
            assert repeat.status_code == 200
            assert repeat.json() == {**redeemed, "replayed": True}
            other = await redeem_json(client, link(CAMPAIGN, "till-0"))
            assert other.status_code == 409
            assert (other.json()["outcome"], other.json()["redeemedHere"]) == (
                "already_redeemed",
                True,
            )

        unknown = await redeem_json(client, link(CAMPAIGN, "nobody"))
        assert (unknown.status_code, unknown.json()["outcome"]) == (404, "no_active_coupon")

    assert await upstream.tallies() == {ids["till-0"]: Tally(calls=1, applied=1)}
