"""The simulated in-house API: bearer auth, a readable status, one redeem, clear refusals."""

from __future__ import annotations

import httpx
import pytest
from resolver_sandbox import DEMO
from resolver_sandbox.inhouse_api import TOKEN

AUTH = {"Authorization": f"Bearer {TOKEN}"}


def path(external_id: str) -> str:
    return f"/generic/inhouse/coupons/{DEMO.inhouse_campaign}/{external_id}"


async def test_it_needs_its_token(client: httpx.AsyncClient) -> None:
    """401 without it."""
    assert (await client.get(path(DEMO.unredeemed))).status_code == 401


async def test_a_redeem_is_read_back_as_redeemed(client: httpx.AsyncClient) -> None:
    """The coupon's status and redemption time change, and the read shows them."""
    redeemed = await client.post(path(DEMO.unredeemed) + "/redeem", headers=AUTH)
    assert redeemed.json()["status"] == "redeemed"
    read = (await client.get(path(DEMO.unredeemed), headers=AUTH)).json()
    assert read["status"] == "redeemed"
    assert read["redeemedAt"]


@pytest.mark.parametrize(
    ("external_id", "status"),
    [(DEMO.redeemed, 409), (DEMO.expired, 410), ("nobody", 404)],
)
async def test_refusals_say_why(client: httpx.AsyncClient, external_id: str, status: int) -> None:
    """409 already redeemed, 410 expired, 404 unknown."""
    response = await client.post(path(external_id) + "/redeem", headers=AUTH)
    assert response.status_code == status
