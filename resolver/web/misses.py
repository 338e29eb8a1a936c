"""The per-client budget of misses, seen from HTTP: checked before a request may act, spent
after an answer that was a miss.

A miss is a request whose outcome says it named nothing usable: no coupon (a forged or unsigned
link looks the same), an unknown or used confirmation, a malformed link, a wrong API token, or a
wrong staff code or cashier's code (the lockout counts those too). What counts is the outcome the
request's canonical log line records (`structlog` context, bound by the endpoint or the error
handler that answered), so that what is counted and what operators read are the same thing. A
rate-limited answer is no miss: a client over its budget does not extend its own wait.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import structlog

from resolver.domain.errors import StoreUnavailable
from resolver.web.clients import client_network
from resolver.web.services import services

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.types import ASGIApp, Receive, Scope, Send

log = structlog.get_logger("resolver.misses")

MISSES = frozenset(
    {
        "no_active_coupon",
        "invalid_request",
        "unauthorized",
        "verification_failed",
        "redemption_code_wrong",
    }
)
# Where a request names a coupon, or tries a staff code for a store's counter view.
COUPON_PATHS = ("/redeem", "/api/", "/counter/")


async def admit(request: Request) -> None:
    """Refuse (RateLimited) a client that has spent its misses; runs beside the claim."""
    await services(request).misses.check(client_network(request))


class MissCounter:
    """Pure ASGI middleware: after a coupon request is answered, spend a miss if it was one."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)
        if scope["type"] != "http" or not scope["path"].startswith(COUPON_PATHS):
            return
        context = structlog.contextvars.get_contextvars()
        # A caller with the API token is a known machine: its misses are its own business.
        if context.get("outcome") not in MISSES or context.get("caller") == "api_token":
            return
        from starlette.requests import Request  # noqa: PLC0415  # only for a miss

        request = Request(scope)
        try:
            await services(request).misses.miss(client_network(request))
        except StoreUnavailable as error:  # the answer is out; the budget is best effort
            log.warning("miss_not_counted", error=str(error))
