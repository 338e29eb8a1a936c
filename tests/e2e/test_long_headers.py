"""Hostile header sizes against a real `resolver serve` worker (uvicorn and httptools).

Timings here are relative: each request is compared with the median of a few ordinary ones on
the same worker, with a generous multiple and floor, so a loaded machine does not fail them
while a worker that is stalled for seconds does.
"""

from __future__ import annotations

import asyncio
import math
import statistics
import time
from typing import TYPE_CHECKING

import httpx

from resolver.web.scanners import MAX_USER_AGENT
from tests.conftest import BROWSER
from tests.e2e.taps import link, phone

if TYPE_CHECKING:
    from collections.abc import Callable

    from resolver_bench.processes import Child

    from tests.e2e.upstream import Upstream

CAMPAIGN = "e2e-headers"
# A hostile request may take this many times an ordinary one, and never less than the floor.
MULTIPLE = 20
FLOOR_S = 1.0


async def timed(
    client: httpx.AsyncClient,
    path: str,
    params: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> float:
    """Seconds until `path` was answered (not with a 5xx); infinite when the client gave up."""
    started = time.perf_counter()
    try:
        answer = await client.get(path, params=params, headers=headers)
    except httpx.TimeoutException:
        return math.inf
    assert answer.status_code < 500, answer.text[:300]
    return time.perf_counter() - started


async def test_a_huge_user_agent_never_stalls_the_worker(
    start_serve: Callable[..., Child], upstream: Upstream
) -> None:
    """A 64 KB or 1 MB User-Agent (and the costliest one within the bound) is answered, and
    /healthz on the same worker meanwhile, within a small multiple of an ordinary request."""
    await upstream.coupons(CAMPAIGN, "member-", 1)
    serve = start_serve(workers=1)
    params = link(CAMPAIGN, "member-0")
    # The costliest shape for crawlerdetect's patterns: one long run of letters.
    worst = (BROWSER + " " + "a" * MAX_USER_AGENT)[:MAX_USER_AGENT]
    async with phone(serve.url) as client:
        ordinary = [await timed(client, "/redeem", params=params) for _ in range(5)]
        limit = max(MULTIPLE * statistics.median(ordinary), FLOOR_S)
        client.timeout = httpx.Timeout(limit * 2)
        for agent in (worst, BROWSER + "a" * 65_536, BROWSER + "a" * 1_048_576):
            hostile = asyncio.create_task(
                timed(client, "/redeem", params=params, headers={"user-agent": agent})
            )
            # /healthz keeps being asked while the hostile request is in flight: each answer
            # shows the worker's event loop was free at that moment.
            health = [await timed(client, "/healthz")]
            while not hostile.done():
                health.append(await timed(client, "/healthz"))
            assert await hostile <= limit, (len(agent), limit)
            assert max(health) <= limit, (len(agent), limit, max(health))
