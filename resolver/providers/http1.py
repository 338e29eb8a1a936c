"""The service's own HTTP/1.1 client: a small request on a kept-alive connection, its whole
answer read into memory, which is all a back end is ever sent.

Hand-written because the general clients cost several times the wire work on the hot path.
Measured on one machine, CPU per kept-alive request in the client process, answer parsed into
an `httpx.Response`: httpx over httpcore about 400 µs, aiohttp under httpx's interface about
300 µs, this about 100 µs (docs/performance.md). The parsing is not hand-written: it is
httptools (llhttp, the parser uvicorn serves with). Requests go out and answers come back as
httpx's types, so the providers, auth flows and tests are the same whatever sends them.

What matters most is that every failure keeps the meaning the use case relies on
(`resolver.providers.exchange`): was the request possibly applied by the back end?

- never sent — no connection could be had: refused, DNS, TLS handshake, connect timeout
  (`httpx.ConnectError`, `httpx.ConnectTimeout`), or no free connection in time
  (`httpx.PoolTimeout`). Only these are ever tried again (`retries`, connects only).
- sent, no answer in time — `httpx.ReadTimeout` (no byte of the answer for `read` seconds).
- sent (or partly sent), then the connection broke, or the answer was malformed or cut short —
  `httpx.RemoteProtocolError`/`httpx.ReadError`: the outcome is unknown.

A request is never sent twice: a kept-alive connection that breaks under a request fails that
request, and the use case reads the coupon back instead. A connection is reused only after a
whole answer that allows it; one a caller gave up on (a deadline, a cancellation) is closed,
since its answer may still be on the way.
"""

from __future__ import annotations

import asyncio
import collections
import re
import ssl
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

import certifi
import httptools
import httpx

from resolver.providers.exchange import DirectTransport

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from types import TracebackType

# Seconds between connect attempts when `retries` allows more than one.
RETRY_BACKOFF = 0.05
DEFAULT_PORTS = {"http": 80, "https": 443}
# A request target sent as written: only characters a URL may carry unescaped, and escapes
# that are whole. Anything else is escaped the way httpx escapes it (`httpx.URL`).
PLAIN_TARGET = re.compile(r"(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/?]|%[0-9A-Fa-f]{2})*")
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


class Http1Transport(DirectTransport):
    """httpx's transport interface over this module's connections: at most `max_connections`
    open at once (idle or busy, all origins together), idle ones kept `keepalive_expiry`
    seconds. Timeouts come from each request, as httpx hands them to any transport: `pool`
    bounds the wait for a free connection, `connect` a new connection with its TLS handshake,
    `read` each wait for the answer's bytes. `retries` repeats failed connects only."""

    def __init__(self, max_connections: int, *, retries: int, keepalive_expiry: float) -> None:
        self._limit = max_connections
        self._retries = retries
        self._keepalive = keepalive_expiry
        self._idle: dict[Origin, list[Connection]] = {}
        self._open = 0  # connections open or opening, idle or busy
        self._waiters: collections.deque[asyncio.Future[None]] = collections.deque()
        self._origins: dict[str, Origin] = {}
        self._tls: ssl.SSLContext | None = None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        timeouts = request.extensions.get("timeout", {})
        response = await self.exchange(
            request.method, str(request.url), request.headers.multi_items(), body, timeouts
        )
        response.request = request
        return response

    async def exchange(
        self,
        method: str,
        url: str,
        headers: Sequence[tuple[str, str]],
        body: bytes,
        timeouts: Mapping[str, float | None],
    ) -> httpx.Response:
        origin, target = self._split(url)
        request = _request(method, target, origin, headers, body)
        connection = await self._connection(origin, timeouts)
        try:
            status, reason, raw, content, version = await connection.exchange(
                request, timeouts.get("read")
            )
        except BaseException:
            self._drop(connection)
            raise
        if connection.reusable:
            self._give_back(connection)
        else:
            self._drop(connection)
        return _response(status, reason, raw, content, version)

    def _split(self, url: str) -> tuple[Origin, str]:
        scheme, _, rest = url.partition("://")
        authority, slash, path = rest.partition("/")
        key = f"{scheme}://{authority}"
        origin = self._origins.get(key)
        target = slash + path or "/"
        if origin is None or "#" in path or not PLAIN_TARGET.fullmatch(target):
            return self._parse(url, key)
        return origin, target

    def _parse(self, url: str, key: str) -> tuple[Origin, str]:
        """`url` parsed and escaped by httpx's rules; its origin remembered under `key` (its
        scheme and authority as written) when that is all `key` holds."""
        parsed = httpx.URL(url)
        if parsed.scheme not in DEFAULT_PORTS:
            raise httpx.UnsupportedProtocol(f"cannot send to a {parsed.scheme!r} URL")
        if parsed.userinfo:
            raise httpx.UnsupportedProtocol("credentials belong in headers, not in the URL")
        port = parsed.port or DEFAULT_PORTS[parsed.scheme]
        host = parsed.host
        shown = f"[{host}]" if ":" in host else host
        authority = shown if parsed.port is None else f"{shown}:{port}"
        origin = Origin(parsed.scheme == "https", host, port, authority)
        if not any(mark in key for mark in "?#@"):
            self._origins[key] = origin
        return origin, parsed.raw_path.decode("ascii")

    async def _connection(self, origin: Origin, timeouts: Mapping[str, float | None]) -> Connection:
        """An idle connection to `origin`, or a new one once the limit allows."""
        try:
            async with asyncio.timeout(timeouts.get("pool")):
                while True:
                    idle = self._reuse(origin)
                    if idle is not None:
                        return idle
                    if self._open < self._limit or self._evict():
                        break
                    waiter = asyncio.get_running_loop().create_future()
                    self._waiters.append(waiter)
                    try:
                        await waiter
                    except BaseException:
                        if waiter in self._waiters:
                            self._waiters.remove(waiter)
                        elif waiter.done() and not waiter.cancelled():
                            self._wake()  # woken, but leaving: the turn passes on
                        raise
        except TimeoutError as error:
            raise httpx.PoolTimeout("no free connection in time") from error
        self._open += 1
        try:
            return await self._connect(origin, timeouts.get("connect"))
        except BaseException:
            self._open -= 1
            self._wake()
            raise

    def _reuse(self, origin: Origin) -> Connection | None:
        idle = self._idle.get(origin)
        now = asyncio.get_running_loop().time()
        while idle:
            connection = idle.pop()
            if not connection.closed and now - connection.idle_since < self._keepalive:
                return connection
            self._drop(connection)
        return None

    def _evict(self) -> bool:
        """Closes the longest-idle connection (to any origin) to make room; False if none."""
        oldest: Connection | None = None
        for idle in self._idle.values():
            if idle and (oldest is None or idle[0].idle_since < oldest.idle_since):
                oldest = idle[0]
        if oldest is None:
            return False
        self._idle[oldest.origin].remove(oldest)
        self._drop(oldest)
        return True

    async def _connect(self, origin: Origin, within: float | None) -> Connection:
        loop = asyncio.get_running_loop()
        attempts = self._retries + 1
        for attempt in range(attempts):
            try:
                async with asyncio.timeout(within):
                    _, connection = await loop.create_connection(
                        lambda: Connection(origin),
                        origin.host,
                        origin.port,
                        ssl=self._tls_context() if origin.tls else None,
                        server_hostname=origin.host if origin.tls else None,
                    )
                return connection
            except TimeoutError as error:
                failure: httpx.TransportError = httpx.ConnectTimeout(
                    f"no connection within {within} s"
                )
                failure.__cause__ = error
            except OSError as error:  # refused, unreachable, DNS, TLS (ssl.SSLError)
                failure = httpx.ConnectError(f"{type(error).__name__}: {error}")
                failure.__cause__ = error
            if attempt + 1 == attempts:
                raise failure
            await asyncio.sleep(RETRY_BACKOFF * 2**attempt)
        raise AssertionError("unreachable")  # pragma: no cover

    def _tls_context(self) -> ssl.SSLContext:
        if self._tls is None:
            # The certificates httpx's own transport trusts (certifi's), not the system's.
            self._tls = ssl.create_default_context(cafile=certifi.where())
            self._tls.set_alpn_protocols(["http/1.1"])
        return self._tls

    def _give_back(self, connection: Connection) -> None:
        connection.idle_since = asyncio.get_running_loop().time()
        self._idle.setdefault(connection.origin, []).append(connection)
        self._wake()

    def _drop(self, connection: Connection) -> None:
        connection.close()
        self._open -= 1
        self._wake()

    def _wake(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    async def aclose(self) -> None:
        for idle in self._idle.values():
            for connection in idle:
                connection.close()
        self._idle.clear()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None = None,
        exc_value: BaseException | None = None,
        traceback: TracebackType | None = None,
    ) -> None:
        await self.aclose()


def _response(
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


def _request(
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
