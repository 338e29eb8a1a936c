"""An httpx transport that spreads requests over several small connection pools.

httpcore's pool does its bookkeeping on every request by walking all of its connections (and
polling each one's socket), and part of that walk is quadratic in the pool's size. With the
hundred-odd connections a busy day needs against a 50 ms upstream, that walk was most of a
worker's CPU (measured with py-spy; see README "Load benchmark"). Several pools of a few dozen
connections each keep the walk short; each is an ordinary httpx transport, so timeouts,
connect retries and test mocking (respx) behave exactly as with one.

A running process sends with `resolver.providers.http1`, cheaper still; this one is
what apps under test send with, since respx mocks httpx's own transport.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING

import httpx

from resolver.providers.exchange import DirectTransport

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

# Connections per pool: large enough to reuse connections, small enough to walk cheaply.
POOL_SIZE = 16


class PoolsTransport(DirectTransport):
    """Round-robin over `ceil(max_connections / POOL_SIZE)` ordinary httpx transports."""

    def __init__(self, max_connections: int, *, retries: int, keepalive_expiry: float) -> None:
        count = max(1, -(-max_connections // POOL_SIZE))
        size = max(1, -(-max_connections // count))
        limits = httpx.Limits(
            max_connections=size, max_keepalive_connections=size, keepalive_expiry=keepalive_expiry
        )
        self._pools = [
            httpx.AsyncHTTPTransport(retries=retries, limits=limits) for _ in range(count)
        ]
        self._turn = itertools.cycle(self._pools)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await next(self._turn).handle_async_request(request)

    async def exchange(
        self,
        method: str,
        url: str,
        headers: Sequence[tuple[str, str]],
        body: bytes,
        timeouts: Mapping[str, float | None],
    ) -> httpx.Response:
        request = httpx.Request(
            method, url, headers=headers, content=body or None, extensions={"timeout": timeouts}
        )
        response = await self.handle_async_request(request)
        response.request = request
        # httpx's client reads the body; a transport's answer may still be a stream.
        await response.aread()
        return response

    async def aclose(self) -> None:
        for pool in self._pools:
            await pool.aclose()
