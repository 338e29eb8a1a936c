"""The service's own HTTP/1.1 client, at a real socket: what it sends (what httpx would), the
answers it reads, and when it reuses a connection. How each failure is classified is in
`test_transport_failures.py`, beside the other transports."""

from __future__ import annotations

import asyncio
import gzip
from typing import TYPE_CHECKING, cast

import httpx
import pytest

from resolver.providers.exchange import UpstreamClient, send
from resolver.providers.http1 import Http1Transport
from tests.support.sockets import Upstream, upstream

if TYPE_CHECKING:
    from collections.abc import Callable

    from tests.support.sockets import Handler

BODY = {"externalId": "é", "campaignId": "c"}


def answering(*answers: bytes, record: list[bytes] | None = None) -> Callable[[Upstream], Handler]:
    """A server answering each request on a connection with the next of `answers` (the last
    one again once they run out), keeping each request's bytes in `record`."""

    def behaviour(server: Upstream) -> Handler:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            for index in range(1_000):
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except asyncio.IncompleteReadError:
                    return
                length = next(
                    (
                        int(line.partition(b":")[2])
                        for line in head.split(b"\r\n")
                        if line.lower().startswith(b"content-length:")
                    ),
                    0,
                )
                body = await reader.readexactly(length)
                server.requests += 1
                if record is not None:
                    record.append(head + body)
                answer = answers[min(index, len(answers) - 1)]
                writer.write(answer)
                await writer.drain()
                if b"Connection: close" in answer:
                    return

        return handle

    return behaviour


OK = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n" + (
    b'{"id":"c"}\n'
)


def transport(max_connections: int = 10, keepalive: float = 30) -> Http1Transport:
    return Http1Transport(max_connections, retries=0, keepalive_expiry=keepalive)


def parts(request: bytes) -> tuple[str, dict[str, str], bytes]:
    """A request's line, its headers (names in lower case) and its body."""
    head, _, body = request.partition(b"\r\n\r\n")
    line, *fields = head.decode("latin-1").split("\r\n")
    headers = {}
    for field in fields:
        name, _, value = field.partition(":")
        headers[name.lower()] = value.strip()
    return line, headers, body


@pytest.mark.parametrize("direct", [True, False], ids=["direct", "through-httpx"])
async def test_it_sends_what_httpx_sends(direct: bool) -> None:
    """The same request line (the query escaped the same way), headers and body as httpx's own
    transport sends, whichever path the request takes."""
    sent: list[bytes] = []
    async with upstream(answering(OK, record=sent)) as server:
        for sender in (
            httpx.AsyncClient(),
            (UpstreamClient if direct else httpx.AsyncClient)(transport=transport()),
        ):
            async with sender:
                await send(
                    sender,
                    "PUT",
                    f"{server.url}/coupon/a b/ü",
                    backend="test",
                    json=BODY,
                    params={"q": "a&b é"},
                    headers={"X-Api-Key": "k"},
                )
    (line, httpx_headers, httpx_body), (own_line, own_headers, own_body) = map(parts, sent)
    assert own_line == line
    assert own_body == httpx_body
    for name in ("host", "content-length", "content-type", "x-api-key"):
        assert own_headers[name] == httpx_headers[name]


async def test_a_chunked_answer_and_one_ended_by_closing_are_read_whole() -> None:
    chunked = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b'4\r\n{"id\r\n7\r\n":"c"}\n\r\n0\r\n\r\n'
    )
    until_closed = b'HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n{"id":"c"}\n'
    for answer in (chunked, until_closed):
        async with (
            upstream(answering(answer)) as server,
            UpstreamClient(transport=transport()) as sender,
        ):
            response = await send(sender, "GET", f"{server.url}/c", backend="test")
        assert response.json() == {"id": "c"}


async def test_a_compressed_answer_is_decoded_and_an_interim_answer_skipped() -> None:
    body = gzip.compress(b'{"id":"c"}')
    answer = (
        b"HTTP/1.1 100 Continue\r\n\r\n"
        b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n%s"
        % (len(body), body)
    )
    async with (
        upstream(answering(answer)) as server,
        UpstreamClient(transport=transport()) as sender,
    ):
        response = await send(sender, "GET", f"{server.url}/c", backend="test")
    assert (response.status_code, response.json()) == (200, {"id": "c"})
    assert response.reason_phrase == "OK"


async def test_connections_are_kept_alive_unless_the_answer_says_close() -> None:
    closing = OK.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n", 1)
    async with (
        upstream(answering(OK, closing, OK)) as server,
        UpstreamClient(transport=transport()) as sender,
    ):
        for _ in range(4):
            await send(sender, "GET", f"{server.url}/c", backend="test")
    # the first connection carries two requests, then closes; the second carries the rest
    assert (server.requests, server.connections) == (4, 2)


async def test_a_kept_alive_connection_is_reused_without_arming_the_pools_timer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The pool's timeout bounds a wait for a connection; when one is idle there is no wait,
    and no timer is armed for it."""
    async with upstream(answering(OK)) as server, UpstreamClient(transport=transport()) as sender:
        await send(sender, "GET", f"{server.url}/c", backend="test")

        def refused(_: float | None) -> None:
            raise AssertionError("a timer armed for a connection that was idle")

        monkeypatch.setattr(asyncio, "timeout", refused)
        response = await send(sender, "GET", f"{server.url}/c", backend="test")
    assert response.status_code == 200
    assert (server.requests, server.connections) == (2, 1)


async def test_an_idle_connection_the_server_closed_is_replaced_not_failed() -> None:
    closing = OK.replace(b"\r\n\r\n", b"\r\nConnection: keep-alive\r\n\r\n", 1)

    def closes_when_idle(server: Upstream) -> Handler:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await answering(closing)(server)(
                cast("asyncio.StreamReader", _OneRequest(reader)), writer
            )

        return handle

    async with (
        upstream(closes_when_idle) as server,
        UpstreamClient(transport=transport()) as sender,
    ):
        for _ in range(3):
            await send(sender, "GET", f"{server.url}/c", backend="test")
            await asyncio.sleep(0.05)  # the server's close arrives while the connection idles
    assert (server.requests, server.connections) == (3, 3)


class _OneRequest:
    """A reader that ends after one request, so the server closes the kept-alive connection."""

    def __init__(self, reader: asyncio.StreamReader) -> None:
        self.reader = reader
        self.heads = 0

    async def readuntil(self, separator: bytes) -> bytes:
        self.heads += 1
        if self.heads > 1:
            raise asyncio.IncompleteReadError(b"", None)
        return await self.reader.readuntil(separator)

    async def readexactly(self, count: int) -> bytes:
        return await self.reader.readexactly(count)


async def test_a_connection_idle_past_its_expiry_is_not_reused() -> None:
    async with (
        upstream(answering(OK)) as server,
        UpstreamClient(transport=transport(keepalive=0.05)) as sender,
    ):
        await send(sender, "GET", f"{server.url}/c", backend="test")
        await send(sender, "GET", f"{server.url}/c", backend="test")
        await asyncio.sleep(0.1)
        await send(sender, "GET", f"{server.url}/c", backend="test")
    assert (server.requests, server.connections) == (3, 2)


async def test_a_request_given_up_on_closes_its_connection() -> None:
    """Its answer may still come: the connection is never lent again."""
    calls = 0

    def slow_first(server: Upstream) -> Handler:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            nonlocal calls
            calls += 1
            if calls == 1:
                await reader.readuntil(b"\r\n\r\n")
                await asyncio.sleep(0.3)
                writer.write(OK)
                await writer.drain()
                return
            await answering(OK)(server)(reader, writer)

        return handle

    async with upstream(slow_first) as server, UpstreamClient(transport=transport()) as sender:
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.05):
                await send(sender, "GET", f"{server.url}/c", backend="test")
        response = await send(sender, "GET", f"{server.url}/c", backend="test")
    assert response.json() == {"id": "c"}
    assert server.connections == 2


async def test_the_limit_holds_across_back_ends_by_closing_an_idle_connection() -> None:
    async with (
        upstream(answering(OK)) as first,
        upstream(answering(OK)) as second,
        UpstreamClient(transport=transport(max_connections=1)) as sender,
    ):
        for server in (first, second, first):
            await send(sender, "GET", f"{server.url}/c", backend="test")
    assert (first.connections, second.connections) == (2, 1)


async def test_requests_beyond_the_limit_wait_their_turn() -> None:
    async with (
        upstream(answering(OK)) as server,
        UpstreamClient(transport=transport(max_connections=2)) as sender,
    ):
        responses = await asyncio.gather(
            *(send(sender, "GET", f"{server.url}/c", backend="test") for _ in range(20))
        )
    assert all(response.status_code == 200 for response in responses)
    assert server.connections == 2


async def test_a_header_that_would_break_the_framing_is_refused_before_sending() -> None:
    async with upstream(answering(OK)) as server, UpstreamClient(transport=transport()) as sender:
        with pytest.raises(ValueError, match="framing"):
            await send(
                sender, "GET", f"{server.url}/c", backend="test", headers={"x-a": "1\r\nx-b: 2"}
            )
    assert server.connections == 0


@pytest.mark.parametrize(
    ("written", "line", "host"),
    [
        ("{url}", "GET / HTTP/1.1", "{authority}"),
        ("{url}?a=1", "GET /?a=1 HTTP/1.1", "{authority}"),
        ("{url}/c#part", "GET /c HTTP/1.1", "{authority}"),
    ],
)
async def test_a_url_without_a_path_or_with_a_fragment_is_sent_as_httpx_would(
    written: str, line: str, host: str
) -> None:
    sent: list[bytes] = []
    async with (
        upstream(answering(OK, record=sent)) as server,
        UpstreamClient(transport=transport()) as sender,
    ):
        authority = server.url.removeprefix("http://")
        for _ in range(2):  # the second time from what the first one remembered
            await send(sender, "GET", written.format(url=server.url), backend="test")
    for request in sent:
        request_line, headers, _ = parts(request)
        assert request_line == line
        assert headers["host"] == host.format(authority=authority)


async def test_an_answer_arrives_read_with_the_headers_it_came_with() -> None:
    chunked = (
        b"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\nX-A: 1\r\n\r\n2\r\n{}\r\n0\r\n\r\n"
    )
    async with (
        upstream(answering(chunked)) as server,
        UpstreamClient(transport=transport()) as sender,
    ):
        response = await send(sender, "GET", f"{server.url}/c", backend="test")
    assert (response.status_code, response.reason_phrase, response.json()) == (201, "Created", {})
    assert response.headers.multi_items() == [("transfer-encoding", "chunked"), ("x-a", "1")]
    assert response.http_version == "HTTP/1.1"
    await response.aread()  # reading it again is harmless
    assert response.text == "{}"
