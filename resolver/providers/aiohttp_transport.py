"""An httpx transport that sends requests with aiohttp: the providers keep httpx's API (its
responses, auth flows and error types), the wire work is aiohttp's C-accelerated client, which
costs a fraction of httpcore's CPU per request (README "Load benchmark"). Requests arrive as
their parts (`exchange`, the direct path of `resolver.providers.exchange`) or as httpx requests.

What matters most here is that every failure keeps the meaning the use case relies on
(`resolver.providers.exchange`): was the request possibly applied by the back end?

- never sent — the connection could not be had: refused, DNS, TLS handshake, connect timeout,
  waiting for a free connection too long. Raised as `httpx.ConnectError`/`ConnectTimeout`.
- sent, no answer in time — `httpx.ReadTimeout`.
- sent (or partly sent), then the connection broke or the answer was malformed or cut short —
  `httpx.RemoteProtocolError`/`ReadError`: the outcome is unknown.

aiohttp itself resends an idempotent request (PUT included, which is how PassKit redeems)
once when a kept-alive connection breaks under it. A resend is a blind retry of a redemption
that may have been applied, so it is turned off: a broken connection is reported, and the use
case reads the coupon back instead.
"""

from __future__ import annotations

import asyncio
import ssl
from typing import TYPE_CHECKING

import aiohttp
import certifi
import httpx

from resolver.providers.exchange import DirectTransport

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from types import TracebackType

# Errors raised before a request could leave: connecting failed (refused, DNS, TLS, a
# certificate that does not match), which aiohttp never retries.
NEVER_SENT = (aiohttp.ClientConnectorError, aiohttp.ServerFingerprintMismatch)
# Seconds between connect attempts when `retries` allows more than one.
RETRY_BACKOFF = 0.05


class AiohttpTransport(DirectTransport):
    """httpx's transport interface over one aiohttp session with a bounded connection pool.

    Timeouts come from each request, as httpx hands them to any transport: `pool` plus
    `connect` bound getting a connection (a free one from the pool, or a new one with its TLS
    handshake), `connect` alone the new connection, `read` each wait for the answer's bytes.
    `retries` repeats failed connects only: they never reached a back end.
    """

    def __init__(self, max_connections: int, *, retries: int, keepalive_expiry: float) -> None:
        self._limit = max_connections
        self._retries = retries
        self._keepalive = keepalive_expiry
        self._session: aiohttp.ClientSession | None = None

    def _open(self) -> aiohttp.ClientSession:
        # Created on first use: a session belongs to the event loop it is created in.
        if self._session is None:
            connector = aiohttp.TCPConnector(
                limit=self._limit,
                limit_per_host=0,
                keepalive_timeout=self._keepalive,
                # The certificates httpx's own transport trusts (certifi's), not the system's.
                ssl=ssl.create_default_context(cafile=certifi.where()),
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                auto_decompress=False,  # httpx decodes the body by its Content-Encoding
                skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding", "Content-Type"),
                cookie_jar=aiohttp.DummyCookieJar(),
            )
            # No resend of a request whose kept-alive connection broke (see the module's doc):
            # aiohttp has no public switch for it.
            self._session._retry_connection = False
        return self._session

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
        session = self._open()
        connect = timeouts.get("connect")
        pool = timeouts.get("pool")
        limits = aiohttp.ClientTimeout(
            total=None,
            connect=None if connect is None or pool is None else connect + pool,
            sock_connect=connect,
            sock_read=timeouts.get("read"),
        )
        attempts = self._retries + 1
        for attempt in range(attempts):
            try:
                return await self._send(session, method, url, headers, body=body, limits=limits)
            except httpx.ConnectError:
                if attempt + 1 == attempts:
                    raise
                await asyncio.sleep(RETRY_BACKOFF * 2**attempt)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _send(
        self,
        session: aiohttp.ClientSession,
        method: str,
        url: str,
        headers: Sequence[tuple[str, str]],
        *,
        body: bytes,
        limits: aiohttp.ClientTimeout,
    ) -> httpx.Response:
        try:
            async with session.request(
                method,
                url,
                headers=headers,
                data=body or None,
                timeout=limits,
                allow_redirects=False,
                compress=None,
                chunked=None,
            ) as answer:
                content = await answer.read()
                return httpx.Response(
                    answer.status,
                    headers=answer.raw_headers,
                    content=content,
                    extensions={
                        "http_version": b"HTTP/1.1",
                        "reason_phrase": (answer.reason or "").encode("ascii", "replace"),
                    },
                )
        except aiohttp.ConnectionTimeoutError as error:
            # No connection within the time allowed (none free in the pool, or connecting
            # took too long): the request never left.
            raise httpx.ConnectTimeout(str(error)) from error
        except NEVER_SENT as error:
            raise httpx.ConnectError(str(error)) from error
        except aiohttp.SocketTimeoutError as error:
            raise httpx.ReadTimeout(str(error)) from error
        except (
            aiohttp.ServerDisconnectedError,
            aiohttp.ClientPayloadError,
            aiohttp.ClientResponseError,
        ) as error:
            # The request went out; the answer never came whole, or was not HTTP.
            raise httpx.RemoteProtocolError(str(error)) from error
        except (aiohttp.ClientError, OSError) as error:
            # Broken while writing or reading (reset, broken pipe): it may have been applied.
            raise httpx.ReadError(str(error)) from error

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None = None,
        exc_value: BaseException | None = None,
        traceback: TracebackType | None = None,
    ) -> None:
        await self.aclose()
