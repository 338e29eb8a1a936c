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
from typing import TYPE_CHECKING

import certifi
import httpx

from resolver.providers.exchange import DirectTransport
from resolver.providers.http1_connection import Connection, Origin, answer_read, request_bytes

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

# Seconds between connect attempts when `retries` allows more than one.
RETRY_BACKOFF = 0.05
DEFAULT_PORTS = {"http": 80, "https": 443}
# A request target sent as written: only characters a URL may carry unescaped, and escapes
# that are whole. Anything else is escaped the way httpx escapes it (`httpx.URL`).
PLAIN_TARGET = re.compile(r"(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/?]|%[0-9A-Fa-f]{2})*")


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
        request = request_bytes(method, target, origin, headers, body)
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
        return answer_read(status, reason, raw, content, version)

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
        idle = self._reuse(origin)
        if idle is not None:  # the usual case, without arming the pool's timer
            return idle
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
