"""The staff's counter view: one store's redemptions as they happen, on the staff's own device.

GET  /counter/{store}            signed in: the store's latest redemptions; else the sign-in form
POST /counter/{store}            the store's code or a PIN of its staff → a session cookie, 303
GET  /counter/{store}/events     server-sent events: each new redemption as a rendered row
POST /counter/{store}/sign-out   drops the session cookie, 303 to the sign-in form

The code on the member's success screen is matched against the same code on the staff's screen:
a recording of another member's success shows a code this list never showed. Rows are rendered
on the server, in the page's language and the offer's time zone, for the page and for the events
alike (static/counter.js only inserts them), and the page works without JavaScript: it reloads
itself and has a reload link.
"""

from __future__ import annotations

import asyncio
import re
import time
from datetime import timedelta
from typing import TYPE_CHECKING
from urllib.parse import urlencode

import structlog
from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from resolver.domain.counter import stream_id
from resolver.domain.errors import (
    VerificationFailed,
    VerificationLocked,
)
from resolver.web.clients import client_network
from resolver.web.counter_rows import render_row, rows_of
from resolver.web.counter_sessions import COOKIE
from resolver.web.params import form_params
from resolver.web.rendering import remember_language, render, requested_language
from resolver.web.services import services
from resolver.web.staff import STAFF_CODE, StaffField

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from starlette.requests import Request

    from resolver.domain.counter import CounterEntry
    from resolver.web.counter_sessions import Counter, Session

STORE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,39}")
# What the page lists when it opens: the store's latest rows from this long ago at most.
HISTORY = timedelta(hours=24)
# Without JavaScript the page reloads itself this often (with it, rows arrive as they happen).
RELOAD_SECONDS = 10
# How often an open stream checks that its session is still good and the process not stopping.
CHECK_SECONDS = 5.0
# How soon a browser reconnects to a stream that ended (its default is about 3 s).
RETRY_MS = 1_000
# How far Redis's clock (the stream's ids) may run behind ours, as far as a new page cares.
CLOCK_SKEW_SECONDS = 60


def _counter(request: Request) -> tuple[Counter, str, str] | None:
    """The counter services, the store's id and name; None when there is no such page."""
    counter = services(request).counter
    store_id = request.path_params["store"]
    if counter is None or not STORE.fullmatch(store_id):
        return None
    name = counter.access.store_name(store_id)
    return None if name is None else (counter, store_id, name)


def _session(request: Request, counter: Counter, store_id: str) -> Session | None:
    return counter.sessions.read(request.cookies.get(COOKIE), store_id)


def _url(store_id: str, suffix: str = "", **query: str | None) -> str:
    params = {name: value for name, value in query.items() if value}
    return f"/counter/{store_id}{suffix}" + (f"?{urlencode(params)}" if params else "")


async def show(request: Request) -> Response:
    """GET /counter/{store}: the list when this device is signed in, else the sign-in form."""
    found = _counter(request)
    if found is None:
        return render(request, "not_found.html", 404)
    counter, store_id, store_name = found
    session = _session(request, counter, store_id)
    if session is None:
        structlog.contextvars.bind_contextvars(outcome="counter_sign_in")
        return _sign_in(request, store_id, store_name, StaffField(required=True))
    structlog.contextvars.bind_contextvars(outcome="counter", staff_store=store_id)
    since = services(request).clock() - HISTORY
    entries = await counter.feed.recent(store_id, limit=counter.rows, since=since)
    rows = await rows_of(request, counter, entries)
    lang = requested_language(request)
    return render(
        request,
        "counter.html",
        store_name=store_name,
        session=session,
        rows=rows,
        max_rows=counter.rows,
        reload_seconds=RELOAD_SECONDS,
        reload_url=_url(store_id, lang=lang),
        events_url=_url(store_id, "/events", lang=lang, after=_resume_from(entries)),
        sign_out_url=_url(store_id, "/sign-out"),
    )


def _resume_from(entries: list[CounterEntry]) -> str:
    """Where the page's stream starts: after its newest row, so nothing falls between.

    A page with no rows starts a little in the past (the stream's ids are Redis's clock, which
    may differ from ours): whatever the store has there is newer than the empty listing.
    """
    if entries:
        return entries[0].id
    return f"{int((time.time() - CLOCK_SKEW_SECONDS) * 1000)}-0"


async def sign_in(request: Request) -> Response:
    """POST /counter/{store}: check the code (a try taken first), then hand out the session."""
    params = await form_params(request)
    remember_language(request, params.get("lang"))
    found = _counter(request)
    if found is None:
        return render(request, "not_found.html", 404)
    counter, store_id, store_name = found
    await services(request).misses.check(client_network(request))
    field = StaffField(required=True)
    try:
        who = await counter.access.verify(
            store_id, params.get(STAFF_CODE, ""), client_network(request)
        )
    except VerificationFailed as refusal:
        structlog.contextvars.bind_contextvars(outcome=refusal.outcome)
        return _sign_in(request, store_id, store_name, field.after(refusal), refusal.status_code)
    except VerificationLocked as locked:
        structlog.contextvars.bind_contextvars(outcome=locked.outcome)
        wait = locked.retry_after
        headers = {"retry-after": str(wait)}
        return _sign_in(
            request, store_id, store_name, field, 429, headers=headers, retry_after=wait
        )
    structlog.contextvars.bind_contextvars(outcome="counter_signed_in")
    response = RedirectResponse(_url(store_id, lang=requested_language(request)), 303)
    response.set_cookie(
        COOKIE,
        counter.sessions.issue(who),
        max_age=counter.sessions.lifetime,
        path=f"/counter/{store_id}",
        secure=request.url.scheme == "https",
        httponly=True,
        samesite="strict",
    )
    return response


async def sign_out(request: Request) -> Response:
    """POST /counter/{store}/sign-out: this device forgets its session."""
    found = _counter(request)
    if found is None:
        return render(request, "not_found.html", 404)
    structlog.contextvars.bind_contextvars(outcome="counter_signed_out")
    store_id = found[1]
    response = RedirectResponse(_url(store_id), 303)
    response.delete_cookie(COOKIE, path=f"/counter/{store_id}", httponly=True, samesite="strict")
    return response


async def events(request: Request) -> Response:
    """GET /counter/{store}/events: new rows as server-sent events, while the session lasts.

    A reconnecting browser sends the last id it got (`Last-Event-ID`; before the first event,
    the page's `after`): what it missed comes first, from the stream itself.
    """
    found = _counter(request)
    if found is None:
        return PlainTextResponse("not found", 404)
    counter, store_id, _ = found
    session = _session(request, counter, store_id)
    if session is None:
        structlog.contextvars.bind_contextvars(outcome="counter_signed_out")
        return PlainTextResponse("signed out", 401)
    structlog.contextvars.bind_contextvars(outcome="counter_events", staff_store=store_id)
    if request.method == "HEAD":  # a stream that nobody would read
        return Response(media_type="text/event-stream")
    after = request.headers.get("last-event-id") or request.query_params.get("after") or ""
    return EventSourceResponse(
        _stream(request, counter, store_id, after if stream_id(after) else ""),
        headers={"x-accel-buffering": "no"},
    )


async def _stream(
    request: Request, counter: Counter, store_id: str, after: str
) -> AsyncIterator[ServerSentEvent]:
    app = services(request)
    async with counter.feed.subscribe(store_id) as entries:
        yield ServerSentEvent(comment="open", retry=RETRY_MS)
        last = stream_id(after)
        if after:
            for entry in await counter.feed.after(store_id, after, limit=counter.rows):
                yield await _event(request, counter, entry)
                last = stream_id(entry.id)
        while not app.drain.started:
            if _session(request, counter, store_id) is None:
                yield ServerSentEvent(data="", event="signed-out")
                return
            try:
                async with asyncio.timeout(CHECK_SECONDS):
                    new = await entries.next()
            except TimeoutError:
                continue
            if new is None:  # fell behind: the browser reconnects and catches up
                return
            if last is not None and (stream_id(new.id) or (0, 0)) <= last:
                continue  # already sent while catching up
            yield await _event(request, counter, new)
            last = stream_id(new.id)


async def _event(request: Request, counter: Counter, entry: CounterEntry) -> ServerSentEvent:
    (row,) = await rows_of(request, counter, [entry])
    html = render_row(request, row)
    return ServerSentEvent(data=" ".join(html.split("\n")), event="redemption", id=entry.id)


def _sign_in(
    request: Request,
    store_id: str,
    store_name: str,
    field: StaffField,
    status: int = 200,
    *,
    headers: dict[str, str] | None = None,
    retry_after: int | None = None,
) -> Response:
    return render(
        request,
        "counter_sign_in.html",
        status,
        headers=headers,
        store_name=store_name,
        staff=field,
        action=_url(store_id),
        retry_after=retry_after,
    )


routes = [
    Route("/counter/{store}", show, methods=["GET"]),
    Route("/counter/{store}", sign_in, methods=["POST"]),
    Route("/counter/{store}/events", events, methods=["GET"]),
    Route("/counter/{store}/sign-out", sign_out, methods=["POST"]),
]
