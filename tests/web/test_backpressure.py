"""Backpressure: past its bound of requests in progress a worker refuses at once, health answers."""

from __future__ import annotations

import asyncio
import threading
import urllib.request
from typing import TYPE_CHECKING

import httpx
import pytest
from starlette.responses import PlainTextResponse

from resolver.app import create_app
from resolver.web.backpressure import InFlightLimit
from tests.conftest import running
from tests.support.answers import FIELDS
from tests.support.browser import ServedApp, audit_screen

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable

    from playwright.async_api import Browser
    from redis.asyncio import Redis
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.types import Message, Receive, Scope, Send

    from resolver.settings import Settings
    from tests.support.passkit import PassKitDouble

URL = "/api/v1/redeem"
BOUND = 2


class SlowUpstream:
    """PassKit's redeem held until the test lets it answer; counts the redeems it holds."""

    def __init__(self, passkit: PassKitDouble) -> None:
        self.passkit = passkit
        self.release = asyncio.Event()
        self.held = 0
        self.all_held = asyncio.Event()
        passkit.router.routes["redeem"].side_effect = self._redeem

    async def _redeem(self, request: httpx.Request) -> httpx.Response:
        self.held += 1
        if self.held == BOUND:
            self.all_held.set()
        await self.release.wait()
        return await self.passkit._redeem(request)


@pytest.fixture
async def busy(
    make_settings: Callable[..., Settings], passkit: PassKitDouble, redis: Redis
) -> AsyncIterator[tuple[httpx.AsyncClient, SlowUpstream, list[asyncio.Task[httpx.Response]]]]:
    """An app bounded to two requests in progress, with two redemptions held upstream."""
    slow = SlowUpstream(passkit)
    for number in range(BOUND + 2):
        passkit.add(f"member-{number}")
    async with running(create_app(make_settings(max_in_flight=BOUND))) as client:
        held = [
            asyncio.create_task(
                client.post(URL, params={"externalId": f"member-{n}", "campaignId": "camp-1"})
            )
            for n in range(BOUND)
        ]
        await asyncio.wait_for(slow.all_held.wait(), 10)
        try:
            yield client, slow, held
        finally:
            slow.release.set()
            await asyncio.gather(*held)


async def test_a_request_past_the_bound_gets_503_unavailable_at_once_with_retry_after(
    busy: tuple[httpx.AsyncClient, SlowUpstream, list[asyncio.Task[httpx.Response]]],
    passkit: PassKitDouble,
) -> None:
    """Answered while the two held redemptions still wait: no upstream call, the API's shape."""
    client, slow, held = busy
    answer = await client.post(URL, params={"externalId": "member-2", "campaignId": "camp-1"})
    assert answer.status_code == 503
    assert answer.headers["retry-after"] == "2"
    body = answer.json()
    assert set(body) == FIELDS
    assert body["outcome"] == "unavailable"
    assert "nothing was redeemed" in body["detail"]
    assert not slow.release.is_set()
    assert not any(task.done() for task in held)
    assert slow.held == BOUND  # the refused request sent nothing upstream
    assert passkit.lookup_calls == 0


async def test_a_page_past_the_bound_is_the_unavailable_page_in_the_members_language(
    busy: tuple[httpx.AsyncClient, SlowUpstream, list[asyncio.Task[httpx.Response]]],
) -> None:
    """The member's link gets a translated 503 page saying nothing was redeemed."""
    client, _, _ = busy
    page = await client.get(
        "/redeem",
        params={"externalId": "member-2", "campaignId": "camp-1"},
        headers={"accept-language": "fr-FR"},
    )
    assert page.status_code == 503
    assert page.headers["retry-after"] == "2"
    assert page.headers["content-language"] == "fr-FR"
    assert "rien n&#39;a été utilisé" in page.text
    assert 'class="state-unavailable"' in page.text


async def test_health_checks_and_static_files_answer_a_worker_at_its_bound(
    busy: tuple[httpx.AsyncClient, SlowUpstream, list[asyncio.Task[httpx.Response]]],
) -> None:
    """Probes must not restart or unready a pod for being busy; static files cost nothing."""
    client, _, _ = busy
    assert (await client.get("/healthz")).status_code == 200
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["status"] == "ready"
    assert (await client.get("/static/app.css")).status_code == 200
    assert (await client.get("/api/v1/openapi.json")).status_code == 200


async def test_requests_are_accepted_again_once_the_slow_ones_finish(
    busy: tuple[httpx.AsyncClient, SlowUpstream, list[asyncio.Task[httpx.Response]]],
    passkit: PassKitDouble,
) -> None:
    """The bound counts requests in progress, not a budget: finished ones free their places."""
    client, slow, held = busy
    refused = await client.post(URL, params={"externalId": "member-2", "campaignId": "camp-1"})
    assert refused.status_code == 503
    slow.release.set()
    assert [answer.status_code for answer in await asyncio.gather(*held)] == [200] * BOUND
    for number in (2, 3):
        answer = await client.post(
            URL, params={"externalId": f"member-{number}", "campaignId": "camp-1"}
        )
        assert answer.status_code == 200
        assert answer.json()["outcome"] == "redeemed"
    assert passkit.redeem_calls == BOUND + 2


async def test_a_request_that_fails_gives_its_place_back() -> None:
    """An exception from the app still ends the request's count."""

    async def failing(scope: Scope, receive: Receive, send: Send) -> None:
        raise RuntimeError("a bug")

    def refuse(request: Request) -> Response:
        return PlainTextResponse("busy", status_code=503)

    limit = InFlightLimit(failing, limit=1, refuse=refuse)
    scope: Scope = {"type": "http", "path": "/redeem", "method": "GET", "headers": []}

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        pass

    for _ in range(3):
        with pytest.raises(RuntimeError):
            await limit(scope, receive, send)
    assert limit.in_flight == 0


async def test_the_busy_page_renders_cleanly_in_a_real_browser(
    browser: Browser, make_settings: Callable[..., Settings], passkit: PassKitDouble, redis: Redis
) -> None:
    """The refusal's page, on a real server at its bound, passes every screen check."""
    arrived, release = threading.Event(), threading.Event()

    async def held(request: httpx.Request) -> httpx.Response:
        # The server's loop is another thread's: wait for the test without blocking it.
        arrived.set()
        await asyncio.to_thread(release.wait, 30)
        return await passkit._redeem(request)

    passkit.router.routes["redeem"].side_effect = held
    for number in range(2):
        passkit.add(f"member-{number}")
    app = create_app(make_settings(max_in_flight=1, log_level="warning"))
    with ServedApp(app) as served:
        # Not through httpx: respx answers every httpx request of this test.
        redeem = urllib.request.Request(  # noqa: S310  # our own server's http URL
            f"{served.url}{URL}?externalId=member-0&campaignId=camp-1", method="POST"
        )
        taken = asyncio.create_task(asyncio.to_thread(urllib.request.urlopen, redeem, timeout=30))
        try:
            assert await asyncio.to_thread(arrived.wait, 10)
            link = "/redeem?externalId=member-1&campaignId=camp-1"
            await audit_screen(browser, served.url, link, "busy", 503)
        finally:
            release.set()
        with await taken as answer:
            assert answer.status == 200
