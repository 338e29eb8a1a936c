"""One HTTP/1.1 connection of the service's own client (`resolver.providers.http1`): the
request's bytes, the answer read from the socket by httptools (llhttp, the parser uvicorn serves
with), and how the connection can fail while a request is on it.

A connection carries one request at a time. Every failure after the request was written is one
whose outcome is unknown (`httpx.RemoteProtocolError`, `httpx.ReadError`), or no answer in time
(`httpx.ReadTimeout`); the pool above decides nothing about them but to close the connection.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

import httptools
import httpx

if TYPE_CHECKING:
    from collections.abc import Sequence

# Methods whose empty body is still announced (`Content-Length: 0`), as httpx does.
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
# Headers that say where an answer's body ends; without either, the connection's close does.
FRAMING = frozenset({b"content-length", b"transfer-encoding"})


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a connection goes: its scheme, host and port, and the `Host` header naming it."""

    tls: bool
    host: str
    port: int
    authority: str


Answer = tuple[int, bytes, list[tuple[bytes, bytes]], bytes, str]


class Connection(asyncio.Protocol):
    """One connection to an origin, carrying one request at a time."""

    def __init__(self, origin: Origin) -> None:
        self.origin = origin
        self.loop = asyncio.get_running_loop()
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.closed = False
        self.idle_since = 0.0
        self.answer: asyncio.Future[Answer] | None = None
        self.read_timeout: float | None = None
        self.last_read = 0.0
        self.timer: asyncio.TimerHandle | None = None
        self.reusable = False
        self._reset()

    def _reset(self) -> None:
        self.reason = b""
        self.headers: list[tuple[bytes, bytes]] = []
        self.body: list[bytes] = []
        self.headers_done = False
        self.framed = False  # a Content-Length or chunked: the answer says where it ends

    # asyncio's side

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not `asyncio.Transport` subclasses, but have its methods.
        self.transport = cast("asyncio.Transport", transport)

    def data_received(self, data: bytes) -> None:
        if self.answer is None or self.answer.done():
            # Bytes nobody asked for: the connection's state is unknown, so it is not reused.
            self.close()
            return
        self.last_read = self.loop.time()
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as error:
            self._fail(httpx.RemoteProtocolError(f"malformed answer: {type(error).__name__}"))

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._cancel_timer()
        if self.answer is None or self.answer.done():
            return
        if self.headers_done and not self.framed:
            self.on_message_complete()  # an answer whose end is the connection's close
        elif exc is None:
            self.answer.set_exception(
                httpx.RemoteProtocolError("the server closed the connection before answering")
            )
        else:
            self.answer.set_exception(httpx.ReadError(f"{type(exc).__name__}: {exc}"))

    # httptools' side

    def on_status(self, reason: bytes) -> None:
        self.reason += reason

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name, value))
        lowered = name.lower()
        if lowered in FRAMING:
            self.framed = True

    def on_headers_complete(self) -> None:
        self.headers_done = True

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        status = self.parser.get_status_code()
        if status < 200:  # an interim answer (100 Continue, 103 Early Hints): the real one follows
            self._reset()
            return
        self.reusable = not self.closed and self.parser.should_keep_alive()
        assert self.answer is not None
        if not self.answer.done():
            version = self.parser.get_http_version()
            self.answer.set_result(
                (status, self.reason, self.headers, b"".join(self.body), version)
            )

    # the transport's side

    async def exchange(self, request: bytes, read_timeout: float | None) -> Answer:
        """Send `request`, and the answer once whole."""
        assert self.transport is not None
        self.answer = self.loop.create_future()
        self.reusable = False
        self._reset()
        self.read_timeout = read_timeout
        self.last_read = self.loop.time()
        self.transport.write(request)
        if read_timeout is not None:
            self.timer = self.loop.call_at(self.last_read + read_timeout, self._check_reading)
        try:
            return await self.answer
        finally:
            self._cancel_timer()

    def _check_reading(self) -> None:
        # One timer per request, moved on while bytes keep coming, rather than one per read.
        assert self.read_timeout is not None
        due = self.last_read + self.read_timeout
        if self.loop.time() < due:
            self.timer = self.loop.call_at(due, self._check_reading)
            return
        self.timer = None
        self._fail(httpx.ReadTimeout(f"no answer within {self.read_timeout} s"))

    def _cancel_timer(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None

    def _fail(self, error: Exception) -> None:
        if self.answer is not None and not self.answer.done():
            self.answer.set_exception(error)
        self.close()

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.abort()  # nothing more to send, and nothing to wait for


def answer_read(
    status: int, reason: bytes, headers: list[tuple[bytes, bytes]], body: bytes, version: str
) -> httpx.Response:
    """The answer as httpx's response, read. An answer sent as it is (no Content-Encoding, so
    nothing to decode) is handed over as it came: httpx's `Response(content=…)` would stream
    it through its decoders and chunker to copy it once, six times the CPU of the rest."""
    extensions = {"http_version": f"HTTP/{version}".encode(), "reason_phrase": reason}
    if any(name.lower() == b"content-encoding" for name, _ in headers):
        return httpx.Response(status, headers=headers, content=body, extensions=extensions)
    response = httpx.Response(
        status, headers=headers, stream=httpx.ByteStream(body), extensions=extensions
    )
    response._content = body  # what `read()` would have stored: the response is read
    return response


def request_bytes(
    method: str, target: str, origin: Origin, headers: Sequence[tuple[str, str]], body: bytes
) -> bytes:
    """The request's bytes: its line, `Host` and `Content-Length` unless given, the headers as
    given, the body."""
    lines = [f"{method} {target} HTTP/1.1"]
    named = set()
    for name, value in headers:
        if "\r" in value or "\n" in value or "\r" in name or "\n" in name or ":" in name:
            raise ValueError(f"header {name!r} would break the request's framing")
        named.add(name.lower())
        lines.append(f"{name}: {value}")
    if "host" not in named:
        lines.insert(1, f"Host: {origin.authority}")
    if "content-length" not in named and (body or method in BODY_METHODS):
        lines.append(f"Content-Length: {len(body)}")
    lines.append("\r\n")
    return "\r\n".join(lines).encode("latin-1") + body
