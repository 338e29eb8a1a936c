"""The staff's counter view over HTTP: signing in with the store's code or a PIN, the lockout,
the session cookie, the store's redemptions listed, signing out."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from resolver.app import create_app
from tests.conftest import Clock, running
from tests.support.audit import add_entry
from tests.support.browser import ServedApp
from tests.support.pages import assert_valid_html5
from tests.support.staff import OTHER_PIN, PIN, store_code, write_staff_file

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable, Iterator
    from pathlib import Path

    from redis.asyncio import Redis

    from resolver.settings import Settings
    from tests.support.passkit import PassKitDouble

PARIS = "/counter/paris"


@pytest.fixture
def counter_settings(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> Callable[..., Settings]:
    def make(**overrides: Any) -> Settings:
        path = write_staff_file(tmp_path)
        return make_settings(**({"staff_file": str(path)} | overrides))

    return make


@pytest.fixture
async def client(
    counter_settings: Callable[..., Settings], passkit: PassKitDouble, redis: Redis
) -> AsyncIterator[httpx.AsyncClient]:
    async with running(create_app(counter_settings())) as client:
        yield client


async def sign_in(client: httpx.AsyncClient, code: str = PIN, path: str = PARIS) -> httpx.Response:
    return await client.post(path, data={"staffCode": code})


async def test_a_device_without_a_session_is_asked_for_a_code(client: httpx.AsyncClient) -> None:
    """The sign-in form: the staff code field of the member's screens, nothing of the store's."""
    page = await client.get(PARIS)
    assert page.status_code == 200
    assert_valid_html5(page)
    assert "Paris Opéra" in page.text
    field = page.text.split('<input id="staff-code"')[1].split(">")[0]
    assert 'name="staffCode"' in field
    assert 'autocomplete="one-time-code"' in field
    assert "connect-src 'self'" in page.headers["content-security-policy"]


async def test_a_pin_of_the_store_opens_it_with_a_strict_session_cookie(
    client: httpx.AsyncClient,
) -> None:
    """303 to the view, and a cookie no script reads, no other site sends, for this store."""
    answer = await sign_in(client)
    assert answer.status_code == 303
    assert answer.headers["location"] == PARIS
    cookie = answer.headers["set-cookie"]
    for attribute in ("rr_counter=", "HttpOnly", "SameSite=strict", f"Path={PARIS}", "Max-Age="):
        assert attribute in cookie
    assert "Secure" not in cookie  # plain http here; on https it is set
    page = await client.get(PARIS)
    assert page.status_code == 200
    assert_valid_html5(page)
    assert "Signed in as Ana Lima" in page.text
    assert 'action="/counter/paris/sign-out"' in page.text


async def test_the_view_lists_the_stores_own_redemptions_with_their_codes(
    client: httpx.AsyncClient, redis: Redis
) -> None:
    """Paris's entries, newest first, with code, offer, time and who; not Lyon's."""
    at = datetime(2026, 11, 27, 9, 30, 5, tzinfo=UTC)
    await add_entry(redis, code="K7WX", employee="ana", offer="offer-1")
    await add_entry(redis, store="lyon", code="LYON", employee="ben")
    await add_entry(redis, code="H3RT", outcome="already_redeemed")
    await add_entry(redis, code="M4PC", at_ms=int(at.timestamp() * 1000), offer="offer-1")
    await sign_in(client)
    page = await client.get(PARIS)
    codes = [part.split("<")[0] for part in page.text.split('<span class="code">')[1:]]
    assert codes == ["M4PC", "—", "K7WX"]  # an answer that redeemed nothing shows no code
    assert "LYON" not in page.text
    assert "Verified by Ana Lima (PIN)" in page.text
    assert "Verified with the store code" in page.text
    assert "Free coffee" in page.text
    assert '<time datetime="2026-11-27T10:30:05+01:00">10:30:05\u202fAM</time>' in page.text
    assert "Already redeemed" in page.text


async def test_a_store_with_its_own_time_zone_shows_every_row_in_it(
    make_settings: Callable[..., Settings], tmp_path: Path, passkit: PassKitDouble, redis: Redis
) -> None:
    """`timezone` in the staff file's store wins over the offers' zones, so one list, one clock."""
    at = datetime(2026, 11, 27, 9, 30, 5, tzinfo=UTC)
    await add_entry(redis, code="M4PC", at_ms=int(at.timestamp() * 1000), offer="offer-1")
    path = write_staff_file(tmp_path, timezone="America/New_York")
    async with running(create_app(make_settings(staff_file=str(path)))) as client:
        await sign_in(client)
        page = await client.get(PARIS)
    assert '<time datetime="2026-11-27T04:30:05-05:00">' in page.text


async def test_the_view_speaks_the_staffs_language(client: httpx.AsyncClient, redis: Redis) -> None:
    """?lang=de is carried from the form to the view and its events."""
    await add_entry(redis, code="K7WX")
    answer = await client.post(f"{PARIS}?lang=de", data={"staffCode": PIN, "lang": "de"})
    assert answer.headers["location"] == f"{PARIS}?lang=de"
    page = await client.get(answer.headers["location"])
    assert page.headers["content-language"] == "de"
    assert "Eingelöst" in page.text
    assert "/counter/paris/events?lang=de&amp;after=" in page.text


async def test_the_stores_code_opens_it_too(client: httpx.AsyncClient) -> None:
    """The store's code of the moment: signed in "with the store code"."""
    assert (await sign_in(client, store_code(datetime.now(UTC)))).status_code == 303
    assert "Signed in with the store code" in (await client.get(PARIS)).text


async def test_a_wrong_code_is_refused_with_the_tries_left_then_locked(
    client: httpx.AsyncClient,
) -> None:
    """Five per store (RESOLVER_STAFF_MAX_FAILURES): 4…0 left, then 429 even for a right PIN."""
    statuses, lefts = [], []
    for _ in range(5):
        answer = await sign_in(client, "000000")
        statuses.append(answer.status_code)
        if answer.status_code == 403:
            lefts.append(answer.text.split("That code is not right. ")[1].split(" ")[0])
        assert "rr_counter" not in answer.headers.get("set-cookie", "")
    assert statuses == [403, 403, 403, 403, 429]
    assert lefts == ["4", "3", "2", "1"]
    locked = await sign_in(client, PIN)
    assert locked.status_code == 429
    assert 800 <= int(locked.headers["retry-after"]) <= 900
    assert "Too many wrong codes. Try again in 15 minutes." in locked.text
    assert "rr_counter" not in locked.headers.get("set-cookie", "")


async def test_another_stores_pin_opens_nothing(client: httpx.AsyncClient) -> None:
    """Ben's PIN is Lyon's: at Paris it is a wrong code."""
    assert (await sign_in(client, OTHER_PIN)).status_code == 403


async def test_one_stores_session_does_not_open_another(client: httpx.AsyncClient) -> None:
    """The cookie names its store: Paris's session sent to Lyon's view gets the form."""
    answer = await sign_in(client)
    token = answer.cookies["rr_counter"]
    client.cookies.clear()
    page = await client.get("/counter/lyon", headers={"cookie": f"rr_counter={token}"})
    assert "Signed in" not in page.text
    assert 'name="staffCode"' in page.text
    events = await client.get("/counter/lyon/events", headers={"cookie": f"rr_counter={token}"})
    assert events.status_code == 401


async def test_a_forged_session_is_no_session(client: httpx.AsyncClient) -> None:
    """A token signed with another key, or none at all, gets the form."""
    for token in ("x.y.z", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJwYXJpcyJ9."):
        page = await client.get(PARIS, headers={"cookie": f"rr_counter={token}"})
        assert 'name="staffCode"' in page.text


async def test_a_session_ends_when_its_lifetime_is_over(
    counter_settings: Callable[..., Settings], passkit: PassKitDouble, redis: Redis
) -> None:
    """RESOLVER_COUNTER_SESSION_SECONDS later, by the app's clock, the form again."""
    clock = Clock()
    settings = counter_settings(counter_session_seconds=600)
    async with running(create_app(settings, clock=clock)) as client:
        await sign_in(client)
        clock.shift = timedelta(seconds=590)
        assert "Signed in" in (await client.get(PARIS)).text
        clock.shift = timedelta(seconds=601)
        assert 'name="staffCode"' in (await client.get(PARIS)).text


async def test_signing_out_forgets_the_session(client: httpx.AsyncClient) -> None:
    """The cookie is dropped and the form comes back."""
    await sign_in(client)
    answer = await client.post(f"{PARIS}/sign-out")
    assert answer.status_code == 303
    assert answer.headers["location"] == PARIS
    assert 'rr_counter=""' in answer.headers["set-cookie"]
    assert 'name="staffCode"' in (await client.get(PARIS)).text


async def test_events_need_a_session(client: httpx.AsyncClient) -> None:
    """No cookie, no stream: 401, which ends a browser's EventSource."""
    assert (await client.get(f"{PARIS}/events")).status_code == 401


async def test_a_head_of_the_events_opens_no_stream(client: httpx.AsyncClient) -> None:
    """HEAD answers at once: nothing subscribes to the stream for a body nobody reads."""
    await sign_in(client)
    answer = await client.head(f"{PARIS}/events")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/event-stream")


async def test_an_unknown_store_has_no_counter(client: httpx.AsyncClient) -> None:
    """404, and no try is taken."""
    assert (await client.get("/counter/nowhere")).status_code == 404
    assert (await sign_in(client, PIN, "/counter/nowhere")).status_code == 404
    assert (await client.get("/counter/a{b}")).status_code == 404


@pytest.mark.parametrize("overrides", [{"counter_view": False}, {"staff_file": None}])
async def test_without_the_view_or_stores_there_is_no_counter(
    counter_settings: Callable[..., Settings],
    passkit: PassKitDouble,
    redis: Redis,
    overrides: dict[str, Any],
) -> None:
    """RESOLVER_COUNTER_VIEW=false, or no staff file: 404."""
    async with running(create_app(counter_settings(**overrides))) as client:
        assert (await client.get(PARIS)).status_code == 404
        assert (await sign_in(client)).status_code == 404


async def test_wrong_codes_at_the_counter_spend_the_networks_misses(
    counter_settings: Callable[..., Settings], passkit: PassKitDouble, redis: Redis
) -> None:
    """With a miss budget of 3 an hour, the fourth try is refused before any code is checked."""
    settings = counter_settings(rate_limit_misses="3/hour")
    async with running(create_app(settings)) as client:
        statuses = [(await sign_in(client, "000000")).status_code for _ in range(4)]
    assert statuses == [403, 403, 403, 429]
    assert await redis.get("rr:{counter.paris}:v") == "3"


@pytest.fixture
def served_counter(
    counter_settings: Callable[..., Settings], redis: Redis
) -> Iterator[tuple[ServedApp, Clock]]:
    """A real server, for streams: the counter view with a 600 s session and a movable clock.

    No upstream mock: respx would catch the test's own requests, and rows without an offer
    never ask the upstream for one."""
    clock = Clock()
    settings = counter_settings(counter_session_seconds=600, log_level="warning")
    with ServedApp(create_app(settings, clock=clock)) as served:
        yield served, clock


async def events_of(lines: AsyncIterator[str], count: int) -> list[dict[str, str]]:
    """The next `count` events of a stream's lines (comments and retry lines skipped)."""
    found: list[dict[str, str]] = []
    event: dict[str, str] = {}
    async for line in lines:
        if not line:
            if "event" in event:
                found.append(event)
                if len(found) == count:
                    return found
            event = {}
            continue
        name, _, value = line.partition(": ")
        if name in ("id", "event", "data"):
            event[name] = value
    return found


async def test_a_reconnecting_stream_first_gets_what_it_missed(
    served_counter: tuple[ServedApp, Clock], redis: Redis
) -> None:
    """Last-Event-ID: the store's later entries come first, from the stream, then new ones."""
    served, _ = served_counter
    async with httpx.AsyncClient(base_url=served.url) as client:
        await sign_in(client)
        seen = await add_entry(redis, code="AAAA")
        missed = await add_entry(redis, code="BBBB")
        await add_entry(redis, store="lyon", code="LYON")
        headers = {"last-event-id": seen}
        async with (
            asyncio.timeout(10),
            client.stream("GET", f"{PARIS}/events", headers=headers) as stream,
        ):
            assert stream.headers["content-type"].startswith("text/event-stream")
            lines = stream.aiter_lines()
            first = await events_of(lines, 1)
            live = await add_entry(redis, code="CCCC")
            second = await events_of(lines, 1)
    assert [(e["event"], e["id"]) for e in first + second] == [
        ("redemption", missed),
        ("redemption", live),
    ]
    assert '<span class="code">BBBB</span>' in first[0]["data"]


async def test_an_open_stream_ends_with_its_session(
    served_counter: tuple[ServedApp, Clock], redis: Redis
) -> None:
    """Past the session's lifetime (by the app's clock) the stream says `signed-out` and ends."""
    served, clock = served_counter
    async with httpx.AsyncClient(base_url=served.url) as client:
        await sign_in(client)
        async with asyncio.timeout(15), client.stream("GET", f"{PARIS}/events") as stream:
            clock.shift = timedelta(seconds=601)
            ended = await events_of(stream.aiter_lines(), 1)
    assert [event["event"] for event in ended] == ["signed-out"]


async def test_a_row_added_between_an_empty_page_and_its_stream_is_not_lost(
    served_counter: tuple[ServedApp, Clock], redis: Redis
) -> None:
    """The page listed nothing; an entry added before its stream opened comes first on it."""
    served, _ = served_counter
    async with httpx.AsyncClient(base_url=served.url) as client:
        await sign_in(client)
        page = await client.get(PARIS)
        assert 'id="empty" class="hint">' in page.text
        url = page.text.split('data-events="')[1].split('"')[0].replace("&amp;", "&")
        added = await add_entry(redis, code="FAST")
        async with asyncio.timeout(10), client.stream("GET", url) as stream:
            (event,) = await events_of(stream.aiter_lines(), 1)
    assert event["id"] == added
