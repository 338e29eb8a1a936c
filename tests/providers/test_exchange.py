"""Sending one request: the direct path sends exactly what httpx's client would have sent."""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx
import pytest
import respx

from resolver.providers.exchange import HeadersAuth, StaticAuth, UpstreamClient, send
from resolver.providers.transport import PoolsTransport

if TYPE_CHECKING:
    from collections.abc import Generator

URL = "https://api.example.test/coupon/singleUse/coupon/redeem"


class OAuthLike(httpx.Auth):
    """An auth flow that is not fixed headers: only httpx's client can run it."""

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response]:
        request.headers["Authorization"] = "Bearer from-a-flow"
        yield request


def clients() -> tuple[httpx.AsyncClient, UpstreamClient]:
    timeout, headers = httpx.Timeout(5.0), {"User-Agent": "resolver/test"}
    return (
        httpx.AsyncClient(transport=pools(), timeout=timeout, headers=headers),
        UpstreamClient(transport=pools(), timeout=timeout, headers=headers),
    )


def pools() -> PoolsTransport:
    return PoolsTransport(4, retries=0, keepalive_expiry=5)


def seen(request: httpx.Request) -> tuple[str, str, bytes, list[tuple[str, str]]]:
    headers = sorted((name.lower(), value) for name, value in request.headers.multi_items())
    return request.method, str(request.url), request.content, headers


@pytest.mark.parametrize(
    ("params", "headers"),
    [(None, None), ({"q": "a b", "n": "1"}, {"X-Trace": "t", "User-Agent": "mine"})],
)
async def test_the_direct_path_sends_what_httpx_would(
    params: dict[str, str] | None, headers: dict[str, str] | None
) -> None:
    """Method, URL with its query, JSON body, every header (defaults, the caller's, the
    credentials) and the timeouts: the same either way."""
    auth = HeadersAuth({"X-Api-Key": "k", "Authorization": "Bearer t"})
    body = {"externalId": "é", "campaignId": "c", "amount": 1.5}
    requests: list[httpx.Request] = []
    with respx.mock(assert_all_called=False) as mock:
        route = mock.put(url__startswith=URL).respond(200, json={"id": "c"})
        for client in clients():
            async with client:
                answer = await send(
                    client, "PUT", URL, backend="t", auth=auth, json=body,
                    params=params, headers=headers,
                )  # fmt: skip
            assert answer.json() == {"id": "c"}
            requests.append(route.calls.last.request)
    httpx_sent, direct_sent = requests
    assert seen(direct_sent) == seen(httpx_sent)
    assert direct_sent.extensions["timeout"] == httpx_sent.extensions["timeout"]


async def test_an_auth_flow_that_is_not_fixed_headers_goes_through_httpx() -> None:
    """Credentials that need a flow (an OAuth token to refresh) are never skipped."""
    _, client = clients()
    assert not isinstance(OAuthLike(), StaticAuth)
    with respx.mock() as mock:
        route = mock.get(URL).respond(200, json={})
        async with client:
            await send(client, "GET", URL, backend="t", auth=OAuthLike())
    assert route.calls.last.request.headers["authorization"] == "Bearer from-a-flow"


def test_only_absolute_urls_with_fixed_credentials_take_the_direct_path() -> None:
    _, client = clients()
    assert client.sends_directly(URL, None)
    assert client.sends_directly(URL, HeadersAuth({"X-Api-Key": "k"}))
    assert not client.sends_directly("/relative", None)
    assert not client.sends_directly(URL, OAuthLike())
    assert not UpstreamClient(transport=httpx.MockTransport(lambda r: httpx.Response(200))) \
        .sends_directly(URL, None)  # fmt: skip
