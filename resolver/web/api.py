"""The JSON API that replaces a Make webhook: `GET` or `POST /api/v1/redeem`.

Machines need no confirm step, so a POST redeems directly and answers with the true outcome:

    {"outcome", "campaignId", "externalId", "couponId", "redeemedAt", "replayed", "detail",
     "verifiedBy", "triesLeft", "reference", "upstreamConfirmed", "redeemedHere",
     "redemptionCode", "transactionReference", "transactionAmount"}

Repeats follow the IETF Idempotency-Key draft: a request that repeats an earlier request's
`Idempotency-Key` for the same coupon gets that request's answer again (`replayed: true`): a
till's retry. Any other request for a coupon already redeemed — by this service or not — gets
409 `already_redeemed` with `redeemedAt`, and `redeemedHere` says whether this service did it.

A till sends the staff member's PIN or the store's code as `staffCode` when the campaign asks for
staff verification. The code is checked only for a coupon that exists and is redeemable (the
coupon is read first, so such a redemption costs two upstream calls); `verifiedBy` then says
who, and a wrong code answers 403 with `triesLeft`. `reference` is the back end's own reference
for the redemption, when it gives one. `upstreamConfirmed` is false when the back end cannot
vouch that a redemption was the coupon's first use (the first one this service knows of).

A till may add `redemptionCode`, `transactionReference` and `transactionAmount`
(`resolver.web.till`): they go upstream with the redemption and come back in the answer.

A GET redeems only when the operator chose instant mode (a pass link pointing here instead of at
a Make webhook), and never for HEAD, prefetch, previews or scanners: links get opened by things
that are not people, and a GET that redeems burns coupons nobody used.
"""

from __future__ import annotations

import hmac
import re
from functools import partial
from typing import TYPE_CHECKING

import structlog
from starlette.routing import Route

from resolver.domain.coupons import CouponState
from resolver.domain.errors import InvalidRequest, MethodNotAllowed, Unauthorized
from resolver.domain.redemptions import OUTCOME_FOR_STATE, Failure, Outcome, Redemption
from resolver.domain.results import settled
from resolver.web import misses
from resolver.web.answers import Result
from resolver.web.links import verified_link
from resolver.web.params import api_params, header
from resolver.web.scanners import is_not_a_person
from resolver.web.services import services
from resolver.web.staff import staff_check
from resolver.web.till import till_from

if TYPE_CHECKING:
    from pydantic import SecretStr
    from starlette.requests import Request
    from starlette.responses import JSONResponse

    from resolver.redemption import Preview

STATUS = {
    Outcome.REDEEMED: 200,
    Outcome.ALREADY_REDEEMED: 409,
    Outcome.NO_ACTIVE_COUPON: 404,
    Outcome.EXPIRED: 410,
    Outcome.OFFER_UNAVAILABLE: 409,
    Outcome.IN_PROGRESS: 409,
}
FAILURE_STATUS = {Failure.BAD_ANSWER: 502, Failure.UNREACHABLE: 503, Failure.TIMEOUT: 504}
IDEMPOTENCY_KEY = "idempotency-key"
# The draft's keys are UUIDs or similar: printable, and short enough to keep beside a result.
KEY_PATTERN = re.compile(r"[\x21-\x7e]{1,255}")


async def redeem(request: Request) -> JSONResponse:
    """Redeem the link's active coupon at most once; the status code follows the outcome."""
    app = services(request)
    authenticated = authorize(request, app.settings.api_token)
    if request.method != "POST":
        refuse_get(request, instant=app.settings.redeem_mode == "instant")
    key = idempotency_key(request)
    params = await api_params(request)
    link = verified_link(params, app.settings.link_keys)
    request.state.link = link  # error answers from here on name the link they are about
    # A caller holding an API token is a known machine (a till, a server): no miss budget.
    admit = None if authenticated else partial(misses.admit, request)
    till = till_from(params)
    verify = staff_check(request, link, params)
    seen = None
    if verify is not None:
        # A staff code is checked only for a coupon that exists and can be redeemed now.
        preview = await app.redemptions.preview(link, with_form_token=False, admit=admit)
        admit = None
        refusal = preview.result or _refusal(preview)
        if refusal is not None:
            return _respond(refusal)
        seen = preview.coupon
    result = await app.redemptions.redeem(
        link, seen=seen, idempotency_key=key, admit=admit, verify=verify, till=till
    )
    return _respond(result)


def _respond(result: Redemption) -> JSONResponse:
    structlog.contextvars.bind_contextvars(outcome=result.outcome.value, replayed=result.replayed)
    return redemption_response(result)


def _refusal(preview: Preview) -> Redemption | None:
    """What a preview says instead of redeeming: None when the coupon is redeemable."""
    if preview.state is CouponState.REDEEMABLE:
        return None
    coupon = preview.coupon
    return settled(
        OUTCOME_FOR_STATE[preview.state],
        preview.link,
        coupon_id=coupon.id if coupon else None,
        offer_id=coupon.offer_id if coupon else None,
        redeemed_at=preview.redeemed_at,
        redeemed_here=preview.redeemed_here,
    )


def idempotency_key(request: Request) -> str | None:
    """The request's `Idempotency-Key`, when it sends one; a malformed one is refused."""
    value = header(request, IDEMPOTENCY_KEY)
    if value is None:
        return None
    value = value.strip().strip('"')
    if not KEY_PATTERN.fullmatch(value):
        raise InvalidRequest("Idempotency-Key must be 1 to 255 printable characters")
    return value


def authorize(request: Request, tokens: tuple[SecretStr, ...]) -> bool:
    """With tokens configured, require one as `Authorization: Bearer …` (or Make's header).

    True when the caller proved itself with a token; False when none is configured.
    """
    if not tokens:
        return False
    scheme, _, offered = (header(request, "authorization") or "").partition(" ")
    if scheme.lower() != "bearer":
        offered = header(request, "x-make-apikey") or ""
    candidate = offered.strip().encode()
    # Compare against every token, without stopping early, so timing reveals nothing.
    matched = False
    for token in tokens:
        matched |= hmac.compare_digest(candidate, token.get_secret_value().encode())
    if not candidate or not matched:
        raise Unauthorized("a valid API token is required (Authorization: Bearer <token>)")
    structlog.contextvars.bind_contextvars(caller="api_token")
    return True


def refuse_get(request: Request, *, instant: bool) -> None:
    """Raise unless this GET may redeem: instant mode, and a person's browser asking."""
    if request.method == "HEAD":
        raise MethodNotAllowed("HEAD never redeems; use POST")
    if not instant:
        raise MethodNotAllowed("GET redeems only with RESOLVER_REDEEM_MODE=instant; use POST")
    if is_not_a_person(request):
        raise MethodNotAllowed("previews, scanners and prefetches never redeem; use POST")


def redemption_response(result: Redemption) -> JSONResponse:
    if result.outcome in (Outcome.UPSTREAM_ERROR, Outcome.UNCONFIRMED):
        status = FAILURE_STATUS[result.failure or Failure.BAD_ANSWER]
    else:
        status = STATUS[result.outcome]
    headers = {"retry-after": str(result.retry_after)} if result.retry_after else None
    return Result.of(result).response(status, headers)


routes = [Route("/api/v1/redeem", redeem, methods=["GET", "POST"])]
