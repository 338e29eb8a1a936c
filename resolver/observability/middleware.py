"""Pure ASGI middleware recording each HTTP request, and what its answer refused.

The request's duration is OpenTelemetry's `http.server.request.duration`, labelled by the
route's template (Starlette's matched route, so `/redeemed/{receipt}`, never the path itself),
the method (an unknown one is `_OTHER`) and the status sent.

Refusals, staff verifications and `unavailable` answers are read from the request's structlog
context: the outcome and verification the endpoint or the error handler bound for the
request's canonical log line (as `resolver.web.misses` counts misses), so that the figures and
the log lines say the same thing, and the web layer needs no hook of its own.

Hand-written rather than starlette-exporter: that middleware finds the route template by
matching every route again on each request, labels by `path`/`status_code` rather than
OpenTelemetry's names, and could not see the outcomes; this one costs one histogram update.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import structlog

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

    from resolver.observability.metrics import Metrics

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "TRACE"})
# Where coupons are redeemed and staff codes checked; elsewhere, only refusals are looked for.
COUPON_PATHS = ("/redeem", "/api/")
REFUSED = frozenset({403, 429, 503})
LIMITED = {"client": "rate_limited_client", "coupon": "rate_limited_coupon"}
VERIFIED = frozenset({"pin", "store_code"})


class MetricsMiddleware:
    """Records every HTTP request in `metrics` once its answer has gone."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what uvicorn answers should nothing be sent

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            method = scope["method"] if scope["method"] in METHODS else "_OTHER"
            self.metrics.request(method, route, status, time.perf_counter() - started)
            if status in REFUSED or scope["path"].startswith(COUPON_PATHS):
                self._outcome(structlog.contextvars.get_contextvars())

    def _outcome(self, context: dict[str, object]) -> None:
        """Count what the request's log line says it refused or verified."""
        outcome = context.get("outcome")
        if outcome == "rate_limited":
            self.metrics.refused(LIMITED.get(str(context.get("limit")), "rate_limited_client"))
        elif outcome == "verification_locked":
            self.metrics.refused("locked_out")
        elif outcome == "unavailable":
            self.metrics.unavailable_answer()
        verification = context.get("verification")
        if verification in VERIFIED:
            self.metrics.verification(str(verification), "verified")
        elif verification in ("failed", "missing", "locked"):
            self.metrics.verification("none", str(verification))
