"""One map from errors to responses: JSON under /api/, a page everywhere else."""

from __future__ import annotations

from typing import TYPE_CHECKING

import structlog
from starlette.exceptions import HTTPException

from resolver.domain.coupons import Link
from resolver.domain.errors import (
    BadSignature,
    InvalidRequest,
    MethodNotAllowed,
    RateLimited,
    StoreUnavailable,
    Unauthorized,
    UpstreamError,
    UpstreamTimeout,
    UpstreamUnreachable,
    VerificationError,
    VerificationFailed,
    VerificationLocked,
)
from resolver.domain.redemptions import Outcome
from resolver.domain.results import DETAILS
from resolver.web.answers import Result
from resolver.web.rendering import render

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.types import ExceptionHandler

log = structlog.get_logger("resolver.errors")

# Seconds a client refused for overload is asked to wait: long enough for the requests in
# progress to finish (an upstream call and a few Redis round trips), short for a person.
OVERLOADED_RETRY_AFTER_S = 2

INTERNAL_ERROR = (
    "Something went wrong on our side; trying again is safe (a coupon is never redeemed twice). "
    "Support can trace it by the X-Request-ID header."
)


def parsed_link(request: Request) -> Link | None:
    """The link the API request named, once it was read: echoed so a caller can match answers."""
    link = getattr(request.state, "link", None)
    return link if isinstance(link, Link) else None


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def _retry_url(request: Request) -> str | None:
    """The page itself, for a "Try again" button; a POST cannot be repeated by a link."""
    if request.method != "GET":
        return None
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


async def invalid_request(request: Request, error: Exception) -> Response:
    assert isinstance(error, InvalidRequest)
    outcome = "unauthorized" if isinstance(error, Unauthorized) else "invalid_request"
    structlog.contextvars.bind_contextvars(outcome=outcome)
    headers = {}
    if isinstance(error, Unauthorized):
        headers["www-authenticate"] = "Bearer"
    if isinstance(error, MethodNotAllowed):
        headers["allow"] = "POST" if _wants_json(request) else "GET, POST"
    if _wants_json(request):
        answer = Result.refusal(outcome, parsed_link(request), error.detail)
        return answer.response(error.status_code, headers)
    return render(request, "invalid.html", error.status_code, detail=error.detail)


async def bad_signature(request: Request, error: Exception) -> Response:
    """A forged or unsigned link looks exactly like a link to no coupon, and costs nothing."""
    assert isinstance(error, BadSignature)
    structlog.contextvars.bind_contextvars(outcome="no_active_coupon", signature="bad")
    if _wants_json(request):
        detail = DETAILS[Outcome.NO_ACTIVE_COUPON]
        answer = Result.refusal(Outcome.NO_ACTIVE_COUPON.value, error.link, detail)
        return answer.response(404)
    return render(request, "no_coupon.html", 404)


async def rate_limited(request: Request, error: Exception) -> Response:
    """429 with Retry-After, as a page or JSON."""
    assert isinstance(error, RateLimited)
    structlog.contextvars.bind_contextvars(outcome="rate_limited", limit=error.scope)
    headers = {"retry-after": str(error.retry_after)}
    detail = f"Too many requests; try again in {error.retry_after} seconds."
    if _wants_json(request):
        answer = Result.refusal("rate_limited", parsed_link(request), detail)
        return answer.response(429, headers)
    return render(request, "too_many.html", 429, headers=headers, retry_after=error.retry_after)


async def verification_error(request: Request, error: Exception) -> Response:
    """A staff code missing, wrong (403, with the tries left) or locked out (429, Retry-After).

    The confirm page handles missing and wrong codes itself (it asks again); pages only get
    here when locked out.
    """
    assert isinstance(error, VerificationError)
    structlog.contextvars.bind_contextvars(outcome=error.outcome)
    headers = {}
    if isinstance(error, VerificationLocked):
        headers["retry-after"] = str(error.retry_after)
        detail = f"Too many wrong staff codes; try again in {error.retry_after} seconds."
    elif isinstance(error, VerificationFailed):
        detail = f"The staff code is not right; {error.tries_left} tries left."
    else:
        detail = "This campaign requires a staff code (staffCode)."
    if _wants_json(request):
        tries_left = error.tries_left if isinstance(error, VerificationFailed) else None
        answer = Result.refusal(error.outcome, parsed_link(request), detail, tries_left)
        return answer.response(error.status_code, headers)
    if isinstance(error, VerificationLocked):
        return render(
            request, "staff_locked.html", 429, headers=headers, retry_after=error.retry_after
        )
    return render(request, "invalid.html", error.status_code, detail=detail)


async def store_unavailable(request: Request, error: Exception) -> Response:
    """Redis is down: refuse rather than redeem without duplicate protection."""
    log.error("store_unavailable", error=str(error))
    structlog.contextvars.bind_contextvars(outcome="unavailable")
    detail = "Duplicate protection is unavailable; nothing was redeemed. Try again shortly."
    if _wants_json(request):
        answer = Result.refusal("unavailable", parsed_link(request), detail)
        return answer.response(503, {"retry-after": "5"})
    return render(request, "unavailable.html", 503, retry_url=_retry_url(request))


def overloaded(request: Request) -> Response:
    """This worker is at its bound of requests in progress (`resolver.web.backpressure`):
    refused at once, before anything was read, claimed or sent."""
    structlog.contextvars.bind_contextvars(outcome="unavailable", reason="overloaded")
    headers = {"retry-after": str(OVERLOADED_RETRY_AFTER_S)}
    if _wants_json(request):
        detail = "Too many requests in progress here; nothing was redeemed. Try again shortly."
        return Result.refusal("unavailable", None, detail).response(503, headers)
    return render(
        request, "unavailable.html", 503, headers=headers, busy=True, retry_url=_retry_url(request)
    )


async def upstream_error(request: Request, error: Exception) -> Response:
    """The upstream failed while only reading (a preview or a receipt's offer)."""
    log.warning("upstream_read_failed", error=type(error).__name__)
    structlog.contextvars.bind_contextvars(outcome="upstream_error")
    status = 502
    if isinstance(error, UpstreamUnreachable):
        status = 503
    elif isinstance(error, UpstreamTimeout):
        status = 504
    if _wants_json(request):
        answer = Result.refusal(
            "upstream_error",
            parsed_link(request),
            "The coupon service did not answer usably.",
        )
        return answer.response(status)
    return render(request, "unavailable.html", status, retry_url=_retry_url(request))


async def http_error(request: Request, error: Exception) -> Response:
    """Routing errors (404, 405) in the same shapes as everything else."""
    assert isinstance(error, HTTPException)
    headers = dict(error.headers or {})
    if _wants_json(request):
        outcome = "invalid_request"
        answer = Result.refusal(outcome, parsed_link(request), error.detail)
        return answer.response(error.status_code, headers)
    page = "not_found.html" if error.status_code == 404 else "invalid.html"
    return render(request, page, error.status_code, detail=error.detail)


def server_error(request: Request) -> Response:
    """Anything unexpected (RequestContextMiddleware logs it): a 500 in the shape of every other
    answer, saying nothing about the cause. Retrying is safe: the claim in Redis still stands
    between any retry and a second redemption."""
    structlog.contextvars.bind_contextvars(outcome="internal_error")
    if _wants_json(request):
        answer = Result.refusal("internal_error", parsed_link(request), INTERNAL_ERROR)
        return answer.response(500)
    return render(request, "unavailable.html", 500, retry_url=_retry_url(request))


handlers: dict[type[Exception] | int, ExceptionHandler] = {
    BadSignature: bad_signature,
    InvalidRequest: invalid_request,
    RateLimited: rate_limited,
    VerificationError: verification_error,
    StoreUnavailable: store_unavailable,
    UpstreamError: upstream_error,
    HTTPException: http_error,
}
