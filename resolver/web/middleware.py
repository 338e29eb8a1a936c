"""Pure ASGI middleware: request id, one canonical log line per request, security headers.

Pure ASGI rather than `BaseHTTPMiddleware`, which runs the endpoint in another task and so
loses the structlog context variables the endpoint binds (coupon hash, outcome).

It is also where a request's failures end. Starlette's own `ServerErrorMiddleware` sits outside
every user middleware, so its plain 500 would go out without these headers, and it re-raises
to uvicorn, which prints the bare traceback. Here instead:

- a client that disconnects (mid-body, typically) is logged as status 499 with the outcome
  `client_disconnected`: the client's doing, no traceback and no 5xx;
- any other exception gets the app's own 500 (a page or JSON, built by `error_response`) with
  every header below, and the request's log line carries the traceback, at level error. Nothing
  reaches uvicorn, so each failure is logged exactly once, as JSON.

The traceback logged is its frames and exception types without their messages: a message may
quote whatever the code held (a `KeyError` names its key), and raw ids never reach the logs.
"""

from __future__ import annotations

import random
import re
import time
import traceback
from typing import TYPE_CHECKING

import structlog
from starlette.requests import ClientDisconnect, Request
from starlette.responses import PlainTextResponse, Response

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from starlette.types import ASGIApp, Message, Receive, Scope, Send

    ErrorResponse = Callable[[Request], Response]

log = structlog.get_logger("resolver.access")

MAX_REQUEST_ID = 64
REQUEST_ID = re.compile(rf"[A-Za-z0-9._-]{{1,{MAX_REQUEST_ID}}}")
SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
]
NO_STORE = (b"cache-control", b"no-store")
STATIC_CACHE = (b"cache-control", b"public, max-age=86400")
HSTS = (b"strict-transport-security", b"max-age=31536000; includeSubDomains")
QUIET_ROUTES = {"/healthz", "/readyz"}
# nginx's name for "the client closed the request": logged, never sent (nobody is listening).
CLIENT_CLOSED = 499


def content_security_policy(img_sources: Sequence[str] = ()) -> str:
    """Only this service's own files: no inline script or style, no other origin.

    `connect-src 'self'` lets the counter view's script follow its server-sent events.

    `img_sources` adds origins images may come from (a brand logo hosted elsewhere).
    """
    images = " ".join(("'self'", *img_sources))
    return (
        "default-src 'none'; script-src 'self'; style-src 'self'; "
        f"img-src {images}; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
        "base-uri 'none'"
    )


class RequestContextMiddleware:
    """Binds a request id, adds security headers, answers failures and logs one line when the
    response ends."""

    def __init__(
        self, app: ASGIApp, csp: str | None = None, error_response: ErrorResponse | None = None
    ) -> None:
        self.app = app
        policy = (b"content-security-policy", (csp or content_security_policy()).encode())
        self.headers = [policy, *SECURITY_HEADERS]
        self.error_response = error_response or plain_server_error
        # Resolved once, from the logging the app was created with: a module's logger is a
        # proxy that builds a new bound logger (and its output) for every line it writes.
        self.log = log.bind()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = _request_id(scope)
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        static = scope["path"].startswith("/static/")
        status = 500  # what uvicorn answers should nothing be sent
        responded = False
        failure: Exception | None = None

        async def send_with_headers(message: Message) -> None:
            nonlocal status, responded
            if message["type"] == "http.response.start":
                status, responded = message["status"], True
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
        except ClientDisconnect:
            structlog.contextvars.bind_contextvars(outcome="client_disconnected")
            if not responded:
                await Response(status_code=CLIENT_CLOSED)(scope, receive, send_with_headers)
        except Exception as error:
            # The last stop of every failure, bugs included: answered here and logged below with
            # the traceback, rather than hidden or left to a bare dump.
            failure = error
            if not responded:
                response = self._server_error(scope)
                await response(scope, receive, send_with_headers)
        finally:
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            emit = self.log.debug if route in QUIET_ROUTES or static else self.log.info
            failed = {}
            if failure is not None:
                emit = self.log.error
                failed = {"error": type(failure).__name__, "exception": frames_of(failure)}
            emit(
                "request",
                method=scope["method"],
                route=route,
                status=status,
                duration_ms=round((time.perf_counter() - started) * 1000, 2),
                **failed,
            )

    def _server_error(self, scope: Scope) -> Response:
        """The app's own 500 answer, or a plain one should building it fail as well."""
        try:
            return self.error_response(Request(scope))
        except Exception as error:
            # The page itself failed (a template, say): logged, and a 500 still goes out.
            log.error(
                "error_response_failed", error=type(error).__name__, exception=frames_of(error)
            )
            return plain_server_error(Request(scope))


def frames_of(error: BaseException) -> str:
    """The traceback as Python prints it, each exception named by its type alone."""
    chain: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or (
            None if current.__suppress_context__ else current.__context__
        )
    parts = [
        "Traceback (most recent call last):\n"
        + "".join(traceback.format_tb(link.__traceback__))
        + _type_name(link)
        + "\n"
        for link in reversed(chain)
    ]
    return "\nThen, while handling it or because of it:\n\n".join(parts)


def _type_name(error: BaseException) -> str:
    kind = type(error)
    return (
        kind.__qualname__
        if kind.__module__ == "builtins"
        else f"{kind.__module__}.{kind.__qualname__}"
    )


def plain_server_error(request: Request) -> Response:
    return PlainTextResponse("Internal Server Error", status_code=500)


def _request_id(scope: Scope) -> str:
    for name, value in scope["headers"]:
        if name == b"x-request-id" and len(value) <= MAX_REQUEST_ID:
            candidate: str = value.decode("latin-1")
            if REQUEST_ID.fullmatch(candidate):
                return candidate
    # 32 random hex digits, as uuid4().hex reads, from the process's pseudo-random generator:
    # an id tells log lines apart and guards nothing, so it needs no system call per request.
    return f"{random.getrandbits(128):032x}"
