"""Every way a request to a back end can fail, produced by a real socket, classified the same by
each transport the service can send with (its own, and httpx's over httpcore that apps under
test use), each
through httpx's client and through the direct path that skips it (`UpstreamClient`).

The classification is the use case's lifeline (`resolver.providers.exchange`): only a request
that never left may be called unreachable; one that left and got no whole answer must be read
back, and must never be sent again by the transport on its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import socket
from typing import TYPE_CHECKING, Any

import httpx
import pytest
import uvloop

from resolver.domain.errors import (
    UpstreamConnectionLost,
    UpstreamTimeout,
    UpstreamUnreachable,
)
from resolver.providers.exchange import DirectTransport, UpstreamClient, send
from resolver.providers.http1 import Http1Transport
from resolver.providers.transport import PoolsTransport
from tests.support.sockets import Upstream, reset, upstream

if TYPE_CHECKING:
    from collections.abc import Callable, Coroutine

    from tests.support.sockets import Handler

SHORT = 0.3
BODY = {"externalId": "e", "campaignId": "c"}
OK = b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{"id":"c"}\n'


def client(
    kind: str, max_connections: int = 10, timeout: httpx.Timeout | None = None
) -> httpx.AsyncClient:
    """A client of `kind`: a transport (httpx, http1), sent to directly or through httpx."""
    transport, _, path = kind.partition("-")
    sender = TRANSPORTS[transport](max_connections, retries=0, keepalive_expiry=30)
    make = UpstreamClient if path == "direct" else httpx.AsyncClient
    return make(transport=sender, timeout=timeout or httpx.Timeout(5.0))


TRANSPORTS: dict[str, Callable[..., DirectTransport]] = {
    "httpx": PoolsTransport,
    "http1": Http1Transport,
}
KINDS = [*TRANSPORTS, *(f"{name}-direct" for name in TRANSPORTS)]


async def redeem(
    kind: str,
    url: str,
    *,
    max_connections: int = 10,
    limits: httpx.Timeout | None = None,
    times: int = 1,
) -> None:
    """PUT a redemption through `send`, `times` times on one client (kept-alive connections)."""
    async with client(kind, max_connections, limits) as sender:
        for _ in range(times):
            await send(sender, "PUT", f"{url}/redeem", backend="test", json=BODY)


@pytest.mark.parametrize("kind", KINDS)
async def test_an_answer_comes_through_whole(kind: str) -> None:
    def answer(server: Upstream) -> Handler:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            while await server.read_request(reader):
                writer.write(OK)
                await writer.drain()

        return handle

    async with upstream(answer) as server, client(kind) as sender:
        responses = [
            await send(sender, "PUT", f"{server.url}/redeem", backend="test", json=BODY)
            for _ in range(3)
        ]
    assert [(r.status_code, r.json()) for r in responses] == [(200, {"id": "c"})] * 3
    assert responses[0].headers["content-type"] == "application/json"
    assert server.requests == 3
    assert server.connections == 1  # kept alive


@pytest.mark.parametrize("kind", KINDS)
async def test_connect_refused_is_unreachable(kind: str) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(UpstreamUnreachable):
        await redeem(kind, f"http://127.0.0.1:{port}")


@pytest.mark.parametrize("kind", KINDS)
async def test_a_connect_that_times_out_is_unreachable(kind: str) -> None:
    """A TLS handshake nobody answers: the connection is never had, the request never sent."""
    received = []

    def silent(server: Upstream) -> Handler:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            received.append(await reader.read(100))  # the ClientHello; never answered
            await asyncio.sleep(SHORT * 10)

        return handle

    async with upstream(silent) as server:
        url = server.url.replace("http://", "https://")
        with pytest.raises(UpstreamUnreachable):
            await redeem(kind, url, limits=httpx.Timeout(5.0, connect=SHORT))
    assert server.requests == 0


@pytest.mark.parametrize("kind", KINDS)
async def test_a_tls_failure_is_unreachable(kind: str) -> None:
    """A server that answers the TLS handshake with plain HTTP: no TLS, nothing sent."""

    def plain(server: Upstream) -> Handler:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.read(100)
            writer.write(OK)
            await writer.drain()

        return handle

    async with upstream(plain) as server:
        with pytest.raises(UpstreamUnreachable) as raised:
            await redeem(kind, server.url.replace("http://", "https://"))
    assert isinstance(raised.value.__cause__, httpx.ConnectError)
    assert server.requests == 0


@pytest.mark.parametrize("kind", KINDS)
async def test_a_connection_reset_while_sending_is_lost_not_unreachable(kind: str) -> None:
    """Reset as soon as the connection is accepted: the request may be partly written."""

    def rude(server: Upstream) -> Handler:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.read(1)
            reset(writer)

        return handle

    async with upstream(rude) as server:
        with pytest.raises(UpstreamConnectionLost):
            await redeem(kind, server.url)


@pytest.mark.parametrize("kind", KINDS)
async def test_no_answer_in_time_is_a_timeout(kind: str) -> None:
    def slow(server: Upstream) -> Handler:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await server.read_request(reader)
            await asyncio.sleep(SHORT * 10)

        return handle

    async with upstream(slow) as server:
        with pytest.raises(UpstreamTimeout):
            await redeem(kind, server.url, limits=httpx.Timeout(5.0, read=SHORT))
    assert server.requests == 1


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("close", ["fin", "rst"])
async def test_a_disconnect_after_the_request_is_lost_and_never_resent(
    kind: str, close: str
) -> None:
    """The second PUT goes out on the kept-alive connection, which then breaks: outcome
    unknown, and the transport must not send the redemption again by itself."""

    def breaks_second(server: Upstream) -> Handler:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            while await server.read_request(reader):
                if server.requests >= 2:
                    if close == "rst":
                        reset(writer)
                    return
                writer.write(OK)
                await writer.drain()

        return handle

    async with upstream(breaks_second) as server:
        with pytest.raises(UpstreamConnectionLost):
            await redeem(kind, server.url, times=2)
        await asyncio.sleep(SHORT)  # a resend would have arrived by now
    assert server.requests == 2
    assert server.connections == 1


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    "answer",
    [
        pytest.param(b"this is not HTTP\r\n\r\n", id="garbage"),
        pytest.param(b'HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n{"id":', id="cut-short"),
    ],
)
async def test_a_malformed_or_truncated_answer_is_lost(kind: str, answer: bytes) -> None:
    def bad(server: Upstream) -> Handler:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await server.read_request(reader)
            writer.write(answer)
            await writer.drain()

        return handle

    async with upstream(bad) as server:
        with pytest.raises(UpstreamConnectionLost):
            await redeem(kind, server.url)
    assert server.requests == 1


@pytest.mark.parametrize("kind", KINDS)
async def test_waiting_too_long_for_a_free_connection_is_unreachable(kind: str) -> None:
    """One connection, held by a request that gets no answer: the next never leaves."""

    def hold(server: Upstream) -> Handler:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await server.read_request(reader)
            await asyncio.sleep(SHORT * 10)

        return handle

    async with upstream(hold) as server:
        timeout = httpx.Timeout(5.0, connect=SHORT, pool=SHORT)
        async with client(kind, 1, timeout) as sender:
            first = asyncio.create_task(
                send(sender, "PUT", f"{server.url}/redeem", backend="test", json=BODY)
            )
            await asyncio.sleep(SHORT / 3)
            with pytest.raises(UpstreamUnreachable):
                await send(sender, "PUT", f"{server.url}/redeem", backend="test", json=BODY)
            first.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await first
    assert server.requests == 1
    assert server.connections == 1


# A running service's event loop is uvloop's, whose transports and errors are its own: the
# service's own transport meets every failure above on it as well.
ON_UVLOOP: list[Callable[[], Coroutine[Any, Any, None]]] = [
    functools.partial(test_an_answer_comes_through_whole, "http1-direct"),
    functools.partial(test_connect_refused_is_unreachable, "http1-direct"),
    functools.partial(test_a_connect_that_times_out_is_unreachable, "http1-direct"),
    functools.partial(test_a_tls_failure_is_unreachable, "http1-direct"),
    functools.partial(test_a_connection_reset_while_sending_is_lost_not_unreachable, "http1"),
    functools.partial(test_no_answer_in_time_is_a_timeout, "http1-direct"),
    functools.partial(test_a_disconnect_after_the_request_is_lost_and_never_resent, "http1", "fin"),
    functools.partial(
        test_a_disconnect_after_the_request_is_lost_and_never_resent, "http1-direct", "rst"
    ),
    functools.partial(test_a_malformed_or_truncated_answer_is_lost, "http1-direct", b"no\r\n\r\n"),
    functools.partial(
        test_a_malformed_or_truncated_answer_is_lost,
        "http1-direct",
        b"HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n{",
    ),
    functools.partial(test_waiting_too_long_for_a_free_connection_is_unreachable, "http1-direct"),
]


@pytest.mark.parametrize("case", ON_UVLOOP, ids=lambda case: case.func.__name__[5:])
def test_the_services_own_transport_on_uvloop(
    case: Callable[[], Coroutine[Any, Any, None]],
) -> None:
    uvloop.run(case())
