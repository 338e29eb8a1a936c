"""Pure ASGI middleware: request id, one canonical log line per request, security headers.

Pure ASGI rather than `BaseHTTPMiddleware`, which runs the endpoint in another task and so
loses the structlog context variables the endpoint binds (coupon hash, outcome).
"""

from __future__ import annotations

import re
import time
import uuid
from typing import TYPE_CHECKING

import structlog

if TYPE_CHECKING:
    from collections.abc import Sequence

    from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = structlog.get_logger("resolver.access")

REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
]
NO_STORE = (b"cache-control", b"no-store")
STATIC_CACHE = (b"cache-control", b"public, max-age=86400")
HSTS = (b"strict-transport-security", b"max-age=31536000; includeSubDomains")
QUIET_ROUTES = {"/healthz", "/readyz"}


def content_security_policy(img_sources: Sequence[str] = ()) -> str:
    """Only this service's own files: no inline script or style, no other origin.

    `img_sources` adds origins images may come from (a brand logo hosted elsewhere).
    """
    images = " ".join(("'self'", *img_sources))
    return (
        "default-src 'none'; script-src 'self'; style-src 'self'; "
        f"img-src {images}; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    )


class RequestContextMiddleware:
    """Binds a request id, adds security headers and logs one line when the response ends."""

    def __init__(self, app: ASGIApp, csp: str | None = None) -> None:
        self.app = app
        policy = (b"content-security-policy", (csp or content_security_policy()).encode())
        self.headers = [policy, *SECURITY_HEADERS]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = _request_id(scope)
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        static = scope["path"].startswith("/static/")
        status = 500

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [
                    (name, value)
                    for name, value in message.get("headers", [])
                    if name != b"cache-control" or static
                ]
                headers += self.headers
                headers.append(STATIC_CACHE if static else NO_STORE)
                headers.append((b"x-request-id", request_id.encode()))
                if scope.get("scheme") == "https":
                    headers.append(HSTS)
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            emit = log.debug if route in QUIET_ROUTES or static else log.info
            emit(
                "request",
                method=scope["method"],
                route=route,
                status=status,
                duration_ms=round((time.perf_counter() - started) * 1000, 2),
            )


def _request_id(scope: Scope) -> str:
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            candidate: str = value.decode("latin-1")
            if REQUEST_ID.fullmatch(candidate):
                return candidate
    return uuid.uuid4().hex
