"""The member's flow: open the link, confirm, see a receipt that can be reloaded safely.

GET  /redeem?externalId=…&campaignId=…   shows the coupon; never redeems (unless instant mode)
POST /redeem                              redeems, then 303 See Other to the receipt
GET  /redeemed/{receipt}                  the attempt's result; reloading redeems nothing

`?lang=` (or the form's `lang`) picks the language and is carried on to the receipt.

Every path verifies the link once, first (`verified_link`): the confirm form carries the link's
signature on, so a POST for a link nobody signed looks exactly like a link to no coupon.

When the campaign asks for staff verification, the confirm form carries a staff code. It is
checked only for a form whose one-time token is still fresh, that is for a coupon a preview just
found redeemable; a missing or wrong one shows the confirm page again (with a fresh token, and
the tries left), having claimed and sent nothing. A GET cannot carry a code, so instant mode then
shows the form too.
"""

from __future__ import annotations

import re
from functools import partial
from typing import TYPE_CHECKING
from urllib.parse import urlencode

import structlog
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from resolver.domain.coupons import Coupon, CouponState, Offer
from resolver.domain.errors import (
    CouponChanged,
    InvalidFormToken,
    UpstreamError,
    VerificationFailed,
    VerificationRequired,
)
from resolver.domain.expiry import expires_at, offer_ended
from resolver.domain.redemptions import Failure, Outcome, Redemption
from resolver.web import misses
from resolver.web.i18n import N_
from resolver.web.links import link_url, signature_fields, verified_link
from resolver.web.liveness import Liveness
from resolver.web.offer_codes import (
    CashierField,
    asks_for_code,
    code_for,
    fixed_code_of,
    is_cashier_refusal,
    shown_code,
)
from resolver.web.params import form_params, query_params
from resolver.web.rendering import remember_language, render, requested_language
from resolver.web.scanners import is_not_a_person
from resolver.web.services import services
from resolver.web.staff import StaffField, location_from, staff_check

if TYPE_CHECKING:
    from datetime import datetime

    from starlette.requests import Request

    from resolver.domain.coupons import Link
    from resolver.redemption import Preview

FORM_TOKEN = re.compile(r"[A-Za-z0-9_-]{16,64}")
RECEIPT = re.compile(r"[a-z2-7]{16}-[a-z2-7]{16}")
# Seconds between reloads of "in progress": about the time a redemption takes to settle.
IN_PROGRESS_REFRESH = 2

PREVIEW_PAGES = {
    CouponState.REDEEMABLE: ("confirm.html", 200),
    CouponState.ALREADY_REDEEMED: ("already_redeemed.html", 200),
    CouponState.EXPIRED: ("expired.html", 410),
    CouponState.OFFER_UNAVAILABLE: ("not_available.html", 409),
    CouponState.NO_ACTIVE_COUPON: ("no_coupon.html", 404),
}
RESULT_PAGES = {
    Outcome.REDEEMED: "success.html",
    Outcome.ALREADY_REDEEMED: "already_redeemed.html",
    Outcome.EXPIRED: "expired.html",
    Outcome.OFFER_UNAVAILABLE: "not_available.html",
    Outcome.NO_ACTIVE_COUPON: "no_coupon.html",
    Outcome.IN_PROGRESS: "in_progress.html",
    Outcome.UNCONFIRMED: "unconfirmed.html",
    Outcome.UPSTREAM_ERROR: "unavailable.html",
}


async def open_link(request: Request) -> Response:
    """GET/HEAD /redeem: show the coupon behind the link (instant mode: redeem a person's tap)."""
    if is_not_a_person(request):
        structlog.contextvars.bind_contextvars(outcome="neutral")
        return render(request, "neutral.html")
    app = services(request)
    link = verified_link(query_params(request), app.settings.link_keys)
    # A staff code needs the form, even in instant mode.
    instant = (
        app.settings.redeem_mode == "instant" and app.staff.policy(link.campaign_id) != "required"
    )
    preview = await app.redemptions.preview(
        link, with_form_token=not instant, admit=partial(misses.admit, request)
    )
    if preview.result is not None:  # an earlier attempt's doubt, settled or not
        return await _answer(request, preview.result)
    if instant and preview.state is CouponState.REDEEMABLE and asks_for_code(preview.offer):
        # The cashier's code needs the form too: show it, with a token of its own.
        preview = await app.redemptions.preview(link, with_form_token=True)
    elif instant and preview.state is CouponState.REDEEMABLE:
        try:
            result = await app.redemptions.redeem(
                link,
                seen=preview.coupon,
                keep_receipt=True,
                till=fixed_code_of(preview.offer, preview.coupon),
            )
        except CouponChanged:
            return _reopen(request, link)
        return await _answer(request, result)
    return _preview_page(request, preview)


async def confirm(request: Request) -> Response:
    """POST /redeem: the member pressed "Redeem now"; the one-time token proves it."""
    params = await form_params(request)
    remember_language(request, params.get("lang"))
    app = services(request)
    link = verified_link(params, app.settings.link_keys)
    token = params.get("token", "")
    if not token:
        raise InvalidFormToken(N_("The confirmation is missing."))
    if not FORM_TOKEN.fullmatch(token):
        raise InvalidFormToken(N_("The confirmation is not valid."))
    admit = partial(misses.admit, request)
    verify = staff_check(request, link, params)
    try:
        till, admitted = await code_for(request, link, params, token, admit)
    except (VerificationRequired, VerificationFailed) as refusal:
        preview = await app.redemptions.preview(link, with_form_token=True)
        return _preview_page(request, preview, refusal=refusal)
    if verify is not None:
        # A code is checked only for a coupon a preview just showed redeemable (a fresh token);
        # a used token goes on without one: it can only get the result it already has.
        minted = await app.redemptions.form_token_state(link, token)
        if minted == "unknown":
            raise InvalidFormToken(
                N_("This confirmation has expired or belongs to another coupon.")
            )
        if minted == "used":
            verify = None
    try:
        result = await app.redemptions.redeem(
            link,
            form_token=token,
            keep_receipt=True,
            admit=None if admitted else admit,
            verify=verify,
            location=location_from(params, enabled=app.settings.capture_location),
            till=till,
        )
    except (VerificationRequired, VerificationFailed) as refusal:
        # Nothing was claimed and the token is unused; a fresh one restarts its time limit.
        preview = await app.redemptions.preview(link, with_form_token=True)
        return _preview_page(request, preview, refusal=refusal)
    except CouponChanged:
        return _reopen(request, link)
    return await _answer(request, result)


async def show_receipt(request: Request) -> Response:
    """GET /redeemed/{receipt}: the result of one attempt, as often as it is reloaded."""
    receipt = request.path_params["receipt"]
    if not RECEIPT.fullmatch(receipt):
        return render(request, "not_found.html", 404)
    result = await services(request).redemptions.follow(receipt)
    if result is None:
        return render(request, "not_found.html", 404, detail=N_("This receipt does not exist."))
    structlog.contextvars.bind_contextvars(outcome=result.outcome.value)
    if result.outcome is Outcome.IN_PROGRESS:
        return render(request, "in_progress.html", 200, refresh=str(IN_PROGRESS_REFRESH))
    return _result_page(request, result, await _offer(request, result))


async def _answer(request: Request, result: Redemption) -> Response:
    structlog.contextvars.bind_contextvars(outcome=result.outcome.value, replayed=result.replayed)
    if result.receipt:
        # 303: the browser GETs the receipt, so reloading it never re-submits the form.
        lang = requested_language(request)
        query = f"?{urlencode({'lang': lang})}" if lang else ""
        return RedirectResponse(f"/redeemed/{result.receipt}{query}", status_code=303)
    # No receipt to show (another request's success, or Redis failed after the upstream
    # answered): show the answer itself, from what is in hand.
    return _result_page(request, result, await _offer(request, result))


async def _offer(request: Request, result: Redemption) -> Offer | None:
    """The result's offer, if it can be had: a page about an answer never fails for want of it."""
    if not result.offer_id:
        return None
    try:
        return await services(request).redemptions.offer(result.link, result.offer_id)
    except UpstreamError:
        return None


def _reopen(request: Request, link: Link) -> Response:
    """The link's coupon changed since the member confirmed: show them the one it names now."""
    structlog.contextvars.bind_contextvars(outcome="coupon_changed")
    url = link_url(link, services(request).settings.link_keys, requested_language(request))
    return RedirectResponse(url, status_code=303)


def _preview_page(
    request: Request,
    preview: Preview,
    *,
    refusal: VerificationRequired | VerificationFailed | None = None,
) -> Response:
    """The coupon as it is now; the confirm form asks for what the campaign needs."""
    app = services(request)
    structlog.contextvars.bind_contextvars(
        outcome=refusal.outcome if refusal else preview.state.value
    )
    template, status = PREVIEW_PAGES[preview.state]
    field = StaffField.asking(app.staff.policy(preview.link.campaign_id))
    cashier = CashierField.asking(preview.offer)
    redeemable = refusal is not None and preview.state is CouponState.REDEEMABLE
    if redeemable and cashier is not None and is_cashier_refusal(refusal):
        assert refusal is not None
        cashier, status = cashier.after(refusal), refusal.status_code
    elif redeemable and field is not None:
        assert refusal is not None
        field, status = field.after(refusal), refusal.status_code
    coupon = preview.coupon
    return render(
        request,
        template,
        status,
        preview=preview,
        offer=preview.offer,
        redeemed_at=preview.redeemed_at or (coupon.redeemed_at if coupon else None),
        redeemed_here=preview.redeemed_here,
        expired_on=_expired_on(coupon, preview.offer, app.clock()),
        valid_until=expires_at(coupon, preview.offer),
        offer_ended=offer_ended(preview.offer, app.clock()),
        staff=field,
        cashier=cashier,
        ask_location=app.settings.capture_location,
        signature=signature_fields(preview.link, app.settings.link_keys),
    )


def _result_page(request: Request, result: Redemption, offer: Offer | None) -> Response:
    app = services(request)
    url = link_url(result.link, app.settings.link_keys, requested_language(request))
    live, refresh = None, None
    if result.outcome is Outcome.REDEEMED:
        code = app.redemptions.verification_code(result.receipt) if result.receipt else None
        live = Liveness(result.redeemed_at, app.clock(), app.settings.live_seconds, code)
        if live.live:
            # A receipt reloads as its dimmed self; a page without one (Redis failed after
            # PassKit answered) moves on to the coupon's current state instead.
            refresh = str(live.refresh_after) + ("" if result.receipt else f"; url={url}")
    elif result.outcome is Outcome.IN_PROGRESS:
        # Another request's attempt: come back to the coupon, which then says how it ended.
        refresh = str(IN_PROGRESS_REFRESH) + ("" if result.receipt else f"; url={url}")
    shown = shown_code(result, offer, app.clock())
    if shown is not None and shown.until is not None and not shown.over:
        # Without JavaScript the page still changes when the code's time is over.
        refresh = _sooner(refresh, shown.seconds_left(app.clock()))
    status = 200
    if result.outcome is Outcome.UNCONFIRMED:
        status = 504 if result.failure is Failure.TIMEOUT else 502
    return render(
        request,
        RESULT_PAGES[result.outcome],
        status,
        refresh=refresh,
        result=result,
        offer=offer,
        redeemed_at=result.redeemed_at,
        redeemed_here=result.redeemed_here,
        live=live,
        state_url=url,
        retry_url=url if result.outcome is Outcome.UPSTREAM_ERROR else None,
        offer_ended=offer_ended(offer, app.clock()),
        shown=shown,
        now_ms=int(app.clock().timestamp() * 1000),
    )


def _sooner(refresh: str | None, seconds: int) -> str:
    """A Refresh header that reloads after `seconds` at the latest (its URL, if any, kept)."""
    if refresh is None:
        return str(seconds)
    after, separator, rest = refresh.partition(";")
    return f"{min(int(after), seconds)}{separator}{rest}"


def _expired_on(coupon: Coupon | None, offer: Offer | None, now: datetime) -> datetime | None:
    """When an expired coupon stopped being valid, if a date says so."""
    end = expires_at(coupon, offer)
    return end if end is not None and end <= now else None


routes = [
    Route("/redeem", open_link, methods=["GET"]),
    Route("/redeem", confirm, methods=["POST"]),
    Route("/redeemed/{receipt}", show_receipt, methods=["GET"]),
]
