"""The PassKit calls of `check` and `probe`: answers kept as they came, streams unwrapped."""

from __future__ import annotations

import httpx
import pytest
import respx

from resolver.domain.errors import UpstreamUnreachable
from resolver.providers.passkit_admin import LIST_OFFERS, PassKitAdmin

BASE = "https://api.pub1.passkit.io"


def admin(client: httpx.AsyncClient) -> PassKitAdmin:
    return PassKitAdmin(client, base_url=BASE, auth=httpx.BasicAuth("u", "p"))


@respx.mock(assert_all_mocked=True, assert_all_called=True)
async def test_a_stream_of_offers_is_unwrapped(respx_mock: respx.MockRouter) -> None:
    """grpc-gateway's `{"result": …}` lines become the answer's items, in order."""
    lines = '{"result": {"id": "a"}}\n{"result": {"id": "b"}}\n'
    route = respx_mock.post(BASE + LIST_OFFERS).respond(200, text=lines)
    async with httpx.AsyncClient() as client:
        answer = await admin(client).offers("camp")
    assert [item["id"] for item in answer.items] == ["a", "b"]
    assert answer.ok
    assert answer.message == ""
    assert route.calls[0].request.content == b'{"campaignId":"camp","filters":{"limit":-1}}'


@respx.mock(assert_all_mocked=True)
async def test_a_stream_that_fails_midway_keeps_its_error(respx_mock: respx.MockRouter) -> None:
    """An `{"error": …}` line ends the stream and its message is kept."""
    lines = '{"result": {"id": "a"}}\n{"error": {"code": 13, "message": "boom"}}\n'
    respx_mock.post(BASE + LIST_OFFERS).respond(200, text=lines)
    async with httpx.AsyncClient() as client:
        answer = await admin(client).offers("camp")
    assert [item["id"] for item in answer.items] == ["a"]
    assert answer.message == "boom"


@respx.mock(assert_all_mocked=True)
async def test_a_refusal_is_an_answer_not_an_error(respx_mock: respx.MockRouter) -> None:
    """A 400 comes back with its status, code and message; nothing is raised."""
    body = {"code": 9, "message": "coupon already redeemed", "details": []}
    respx_mock.put(f"{BASE}/coupon/singleUse/coupon/redeem").respond(400, json=body)
    async with httpx.AsyncClient() as client:
        answer = await admin(client).redeem({"id": "c1"})
    assert (answer.status, answer.body["code"], answer.message) == (
        400,
        9,
        "coupon already redeemed",
    )
    assert not answer.ok


@respx.mock(assert_all_mocked=True)
async def test_no_connection_is_raised_classified(respx_mock: respx.MockRouter) -> None:
    """A transport failure is the exchange's classified error, as for every back end."""
    respx_mock.get(f"{BASE}/coupon/singleUse/campaign/camp").mock(
        side_effect=httpx.ConnectError("refused")
    )
    async with httpx.AsyncClient() as client:
        with pytest.raises(UpstreamUnreachable):
            await admin(client).campaign("camp")
