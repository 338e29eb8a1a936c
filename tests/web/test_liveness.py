"""The success screen proves it is live, and stops looking live after RESOLVER_LIVE_SECONDS."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest

from resolver.app import create_app
from resolver.domain.coupons import Link
from resolver.domain.names import Names
from resolver.storage.claims import RedisClaims
from resolver.web.liveness import Liveness
from tests.conftest import SECRET_KEY, Clock, running
from tests.support.pages import assert_valid_html5, form_of

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable

    import httpx
    from redis.asyncio import Redis

    from resolver.settings import Settings
    from tests.support.passkit import PassKitDouble

LINK = {"externalId": "member-1", "campaignId": "camp-1"}
NOW = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)


def test_a_success_is_live_for_the_configured_period_only() -> None:
    """Live until exactly live_seconds after the redemption; then dimmed."""
    assert Liveness(NOW, NOW + timedelta(seconds=119.9), 120, "ACEF").live
    assert not Liveness(NOW, NOW + timedelta(seconds=120), 120, "ACEF").live
    assert not Liveness(None, NOW, 120, "ACEF").live  # no known time: never live


def test_a_live_page_reloads_just_after_its_period_ends() -> None:
    """The Refresh delay lands a second after the end, never before it."""
    assert Liveness(NOW, NOW + timedelta(seconds=30.5), 120, None).refresh_after == 91
    assert Liveness(NOW, NOW, 120, None).refresh_after == 121


def test_an_upstream_clock_ahead_of_ours_counts_as_just_redeemed() -> None:
    """A redemption time slightly in the future is elapsed zero, not negative."""
    live = Liveness(NOW + timedelta(seconds=3), NOW, 120, None)
    assert live.elapsed == timedelta(0)
    assert live.live


@pytest.fixture
def clock() -> Clock:
    return Clock(frozen=datetime.now(UTC))


@pytest.fixture
async def client(
    make_settings: Callable[..., Settings], passkit: PassKitDouble, redis: Redis, clock: Clock
) -> AsyncIterator[httpx.AsyncClient]:
    async with running(create_app(make_settings(live_seconds=30), clock=clock)) as client:
        yield client


async def redeem(client: httpx.AsyncClient, **params: str) -> str:
    page = await client.get("/redeem", params=LINK | params)
    answer = await client.post("/redeem", data=form_of(page))
    assert answer.status_code == 303
    return str(answer.headers["location"])


async def test_a_live_success_shows_the_proof_and_reloads_itself(
    client: httpx.AsyncClient, passkit: PassKitDouble, redis: Redis
) -> None:
    """Code, server time, ticking clock, moving stripe, and a Refresh at the period's end."""
    passkit.add("member-1")
    receipt = await redeem(client)
    page = await client.get(receipt)
    code = Names(SECRET_KEY.encode()).verification_code(receipt.removeprefix("/redeemed/"))
    assert "<h1>Redeemed</h1>" in page.text
    assert f'<dd class="code" id="code">{code}</dd>' in page.text
    assert re.search(
        r'<time id="clock" datetime="[^"]+" data-now="\d+" data-tz="Europe/Paris">', page.text
    )
    assert re.search(r'<script src="/static/clock\.js\?v=\w+" defer></script>', page.text)
    assert '<div class="sweep"></div>' in page.text
    assert "<noscript>" in page.text
    assert page.headers["refresh"] == "31"
    assert "live for 30 seconds" in page.text


async def test_the_verification_code_is_the_same_on_every_reload(
    client: httpx.AsyncClient, passkit: PassKitDouble
) -> None:
    """Reloading a receipt never changes its code; another redemption gets its own."""
    passkit.add("member-1")
    first = await redeem(client)
    codes = {re.findall(r'id="code">(\w+)<', (await client.get(first)).text)[0] for _ in range(3)}
    passkit.add("member-1")  # a new coupon under the same id
    second = await redeem(client)
    other = re.findall(r'id="code">(\w+)<', (await client.get(second)).text)[0]
    assert len(codes) == 1
    assert other not in codes  # 1 in 19**4 that two receipts share a code


async def test_a_reload_after_the_live_period_is_dimmed_by_the_server(
    client: httpx.AsyncClient, passkit: PassKitDouble, clock: Clock
) -> None:
    """No clock, no motion, no reload; "no longer live" and a link to the coupon's state."""
    passkit.add("member-1")
    receipt = await redeem(client)
    clock.shift += timedelta(seconds=31)
    page = await client.get(receipt)
    assert page.status_code == 200
    assert_valid_html5(page)
    assert "<h1>No longer live</h1>" in page.text
    assert "Redeemed 31 seconds ago." in page.text
    assert 'id="clock"' not in page.text
    assert "clock.js" not in page.text
    assert "sweep" not in page.text
    assert "refresh" not in page.headers
    assert 'href="/redeem?externalId=member-1&amp;campaignId=camp-1"' in page.text
    assert 'class="state-stale"' in page.text


async def test_a_dimmed_receipt_keeps_the_chosen_language(
    client: httpx.AsyncClient, passkit: PassKitDouble, clock: Clock
) -> None:
    """?lang=it survives the form, the redirect and the dimmed page's link to the coupon."""
    passkit.add("member-1")
    receipt = await redeem(client, lang="it")
    assert receipt.endswith("?lang=it")
    clock.shift += timedelta(minutes=5)
    page = await client.get(receipt)
    assert '<html lang="it">' in page.text
    assert "<h1>Non più in diretta</h1>" in page.text
    assert "Riscattato 5 minuti fa." in page.text
    assert 'href="/redeem?externalId=member-1&amp;campaignId=camp-1&amp;lang=it"' in page.text


async def test_a_redemption_in_flight_reloads_every_two_seconds(
    client: httpx.AsyncClient, redis: Redis
) -> None:
    """The "Redeeming…" page refreshes itself until the result is there."""
    store = RedisClaims(redis)
    key = Names(SECRET_KEY.encode()).key("passkit", Link("camp-1", "member-1"))
    link = Link("camp-1", "member-1")
    await store.claim(key, token="t", nonce="n" * 16, lease=30, hold=60, link=link)
    page = await client.get(f"/redeemed/{key}-{'n' * 16}")
    assert page.status_code == 200
    assert_valid_html5(page)
    assert "Redeeming…" in page.text
    assert page.headers["refresh"] == "2"
