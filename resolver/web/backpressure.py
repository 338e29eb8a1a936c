"""Backpressure: a bound on the coupon requests one worker serves at once.

Past saturation, a worker that takes every request makes every request slower: each one waits
for the CPU behind all the others, until the members' phones and the tills give up on answers
that are still on their way. With a bound, the requests within it keep their latency and the
rest are told at once to try again (503 `unavailable` with `Retry-After`), which a till, a
phone or a load balancer in front of several replicas can act on.

Only the coupon routes count and are refused (`BOUNDED_PATHS`): health checks must still
answer a busy pod, or the orchestrator would restart it or take it out of service for being
busy, and static files cost next to nothing.

How the default (`RESOLVER_MAX_IN_FLIGHT=500`) was chosen: requests in flight are throughput
times upstream latency, and a worker with a core serves about 1,000 JSON redemptions/s (about
1 ms of CPU each). With an upstream answering within half a second, the bound therefore never
refuses what the worker's CPU could still serve: refusing taps while the core idles behind a
slow upstream would also keep the CPU-driven autoscaler from adding pods. With a fast upstream
the CPU saturates first and requests queue in front of the app, where no count of requests in
progress sees them; deploy/README.md says when to lower it.

A plain counter, not a semaphore or a library: a worker runs one event loop, so incrementing
and decrementing between awaits cannot race, and a refused request must not queue for a slot,
which is what a semaphore would make it do.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.requests import Request

if TYPE_CHECKING:
    from collections.abc import Callable

    from starlette.responses import Response
    from starlette.types import ASGIApp, Receive, Scope, Send

# The member's pages (/redeem, /redeemed/…) and the JSON API: every route that may call the
# upstream or Redis for a coupon.
BOUNDED_PATHS = ("/redeem", "/api/v1/redeem")


class InFlightLimit:
    """Pure ASGI middleware: at most `limit` coupon requests in progress; `refuse` answers the
    others at once, before they read their body or touch Redis or the upstream."""

    def __init__(self, app: ASGIApp, limit: int, refuse: Callable[[Request], Response]) -> None:
        self.app = app
        self.limit = limit
        self.refuse = refuse
        self.in_flight = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(BOUNDED_PATHS):
            await self.app(scope, receive, send)
            return
        if self.in_flight >= self.limit:
            await self.refuse(Request(scope))(scope, receive, send)
            return
        self.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1
