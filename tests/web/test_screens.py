"""Every screen in real headless Chromium: two phone sizes, both colour schemes, two languages.

Each state is rendered at 390x844 (light, English) and 320x640 (dark, German), screenshotted to
tests/artifacts/screens/, and must load nothing from another origin, log no console error,
trigger no CSP violation, weigh under 30 KB, keep every tap target at 44 px or more, never
scroll sideways, and pass axe-core without serious or critical violations.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import pytest

from resolver.app import create_app
from resolver.domain.coupons import Link
from resolver.domain.names import Names
from resolver.storage.claims import RedisClaims
from resolver.web.links import link_url
from tests.conftest import SECRET_KEY, Clock, settings_for
from tests.support.browser import PHONE, VIEWS, ServedApp, audit_screen, open_page

if TYPE_CHECKING:
    from collections.abc import Iterator

    from playwright.async_api import Browser, Page
    from redis.asyncio import Redis

    from tests.support.passkit import PassKitDouble

SLACK = "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)"
MEMBER = Link("camp-1", "member-1")
LINK = link_url(MEMBER, ())
LIVE_SECONDS = 120
LOGO = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 180 32" width="180" height="32">'
    '<circle cx="16" cy="16" r="11" fill="none" stroke="#10302b" stroke-width="4"/>'
    '<path d="M27 12h3a4 4 0 0 1 0 8h-3" fill="none" stroke="#10302b" stroke-width="3"/>'
    '<text x="38" y="22" font-family="sans-serif" font-size="16" font-weight="700" '
    'fill="#10302b">Café Lumière</text></svg>'
)


@pytest.fixture(scope="module")
def clock() -> Clock:
    return Clock()


@pytest.fixture(scope="module")
def served(
    redis_url: str, clock: Clock, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServedApp]:
    """The resolver, fully branded, on a real uvicorn server; PassKit is each test's double.

    The brand colour is a light teal, so the header's text must turn black to stay readable.
    """
    logo = tmp_path_factory.mktemp("brand") / "logo.svg"
    logo.write_text(LOGO)
    settings = settings_for(
        redis_url,
        live_seconds=LIVE_SECONDS,
        log_level="warning",
        brand_name="Café Lumière",
        brand_color="#2a9d8f",
        brand_logo=str(logo),
        support_url="mailto:help@example.com",
    )
    with ServedApp(create_app(settings, clock=clock)) as served:
        yield served


async def redeem(browser: Browser, served: ServedApp, path: str = LINK) -> str:
    """Press "Redeem now" on a phone; the receipt's path."""
    context = await browser.new_context(viewport={"width": 390, "height": 844}, user_agent=PHONE)
    try:
        page, _ = await open_page(context, served.url + path, served.url)
        await page.click("button[type=submit]")
        await page.wait_for_url("**/redeemed/**")
        return page.url.removeprefix(served.url)
    finally:
        await context.close()


async def running_animations(page: Page) -> list[str]:
    names: list[str] = await page.evaluate(
        "document.getAnimations().filter(a => a.playState === 'running').map(a => a.animationName)"
    )
    return names


async def test_the_confirm_screen_shows_the_offer_and_one_big_button(
    browser: Browser, served: ServedApp, passkit: PassKitDouble, redis: Redis
) -> None:
    """The offer, the member's name, the validity and a full-width "Redeem now" button."""
    passkit.add(
        "member-1", display_name="Alex Member", expiry=datetime.now(UTC) + timedelta(days=30)
    )

    async def check(page: Page) -> None:
        assert await page.text_content("h1") in ("Redeem your coupon", "Gutschein einlösen")
        assert "Alex Member" in (await page.inner_text(".member"))
        box = await page.locator("button[type=submit]").bounding_box()
        assert box is not None
        assert box["height"] >= 48
        assert box["width"] >= 0.8 * (await page.evaluate("innerWidth"))

    await audit_screen(browser, served.url, LINK, "confirm", 200, check=check)


async def test_a_success_screen_proves_it_is_live(
    browser: Browser, served: ServedApp, passkit: PassKitDouble, redis: Redis
) -> None:
    """A ticking clock, running motion and the server's verification code for this receipt."""
    passkit.add("member-1")
    receipt = await redeem(browser, served)
    code = Names(SECRET_KEY.encode()).verification_code(receipt.removeprefix("/redeemed/"))

    async def check(page: Page) -> None:
        assert await page.text_content("#code") == code
        before = await page.text_content("#clock")
        await page.wait_for_function(
            "before => document.getElementById('clock').textContent !== before",
            arg=before,
            timeout=1500,
        )
        assert {"sweep", "pulse"} <= set(await running_animations(page))

    await audit_screen(browser, served.url, receipt, "success", 200, check=check)


@pytest.mark.parametrize("locale", [view.locale for view in VIEWS])
async def test_the_ticking_clock_and_the_redemption_time_read_alike(
    browser: Browser,
    served: ServedApp,
    passkit: PassKitDouble,
    redis: Redis,
    clock: Clock,
    locale: str,
) -> None:
    """One time format on the success screen: the clock's, once it ticks, is the redemption's."""
    passkit.add("member-1")
    # Just after nine in the offer's time zone (Paris): below ten is where formats part ways
    # (a leading zero or none), and so is the space before AM or PM.
    paris = datetime.now(ZoneInfo("Europe/Paris"))
    clock.shift = paris.replace(hour=9, minute=5, second=3) - paris
    try:
        receipt = await redeem(browser, served)
        context = await browser.new_context(locale=locale, user_agent=PHONE)
        page, _ = await open_page(context, served.url + receipt, served.url)
        before = await page.text_content("#clock")
        await page.wait_for_function(
            "before => document.getElementById('clock').textContent !== before",
            arg=before,
            timeout=1500,
        )
        ticking = await page.text_content("#clock")
        redeemed = await page.text_content(".proof div:last-child time")
        await context.close()
    finally:
        clock.shift = timedelta(0)
    assert ticking
    assert redeemed
    assert re.sub(r"\d", "0", ticking) == re.sub(r"\d", "0", redeemed), (ticking, redeemed)


async def test_reduced_motion_keeps_a_subtle_motion_and_no_javascript_keeps_the_proof(
    browser: Browser, served: ServedApp, passkit: PassKitDouble, redis: Redis
) -> None:
    """prefers-reduced-motion swaps travel for a fade; without JavaScript a noscript explains."""
    passkit.add("member-1")
    receipt = await redeem(browser, served)
    context = await browser.new_context(reduced_motion="reduce", user_agent=PHONE)
    page, _ = await open_page(context, served.url + receipt, served.url)
    assert set(await running_animations(page)) == {"glow"}
    await context.close()
    context = await browser.new_context(java_script_enabled=False, user_agent=PHONE)
    page, _ = await open_page(context, served.url + receipt, served.url)
    assert "only ticks with JavaScript" in (await page.inner_text("main"))
    assert await page.is_visible("#code")
    assert {"sweep", "pulse"} <= set(await running_animations(page))
    await context.close()


async def test_a_success_screen_past_its_live_period_is_dimmed(
    browser: Browser, served: ServedApp, clock: Clock, passkit: PassKitDouble, redis: Redis
) -> None:
    """After RESOLVER_LIVE_SECONDS: no motion, no clock, "no longer live" and the current state."""
    passkit.add("member-1")
    receipt = await redeem(browser, served)
    clock.shift = timedelta(seconds=LIVE_SECONDS + 1)

    async def check(page: Page) -> None:
        assert not await running_animations(page)
        assert await page.locator("#clock").count() == 0
        assert await page.get_attribute("main a.button", "href") == LINK

    try:
        await audit_screen(browser, served.url, receipt, "stale", 200, check=check)
    finally:
        clock.shift = timedelta(0)


async def test_already_redeemed_looks_different_and_says_when(
    browser: Browser, served: ServedApp, passkit: PassKitDouble, redis: Redis
) -> None:
    """Another colour and icon than success, with the original date and time."""
    passkit.add("member-1", status="REDEEMED", redeemed_at=datetime(2026, 3, 1, 9, 30, tzinfo=UTC))

    async def check(page: Page) -> None:
        text = await page.inner_text(".when")
        assert "10:30:00" in text
        assert "2026" in text
        banner = await page.eval_on_selector(".banner", "e => getComputedStyle(e).backgroundColor")
        assert banner == "rgb(240, 165, 0)"  # amber, where success is green

    await audit_screen(browser, served.url, LINK, "already-redeemed", 200, check=check)


STATES = {
    "expired": 410,
    "no-coupon": 404,
    "unavailable": 503,
    "invalid": 400,
    "not-found": 404,
    "neutral": 200,
}


@pytest.mark.parametrize("state", STATES)
async def test_every_other_state_renders_cleanly(
    browser: Browser, served: ServedApp, passkit: PassKitDouble, redis: Redis, state: str
) -> None:
    """Expired, no coupon, unavailable, invalid link, not found and the scanners' neutral page."""
    path, user_agent = LINK, PHONE
    if state == "expired":
        passkit.add_expired("member-1")
    elif state == "unavailable":
        passkit.lookup_fault = "connect_error"
    elif state == "invalid":
        path = "/redeem?campaignId=camp-1"
    elif state == "not-found":
        path = "/redeemed/aaaaaaaaaaaaaaaa-bbbbbbbbbbbbbbbb"
    elif state == "neutral":
        user_agent = SLACK

    async def check(page: Page) -> None:
        assert await page.locator(".banner svg.icon").count() == 1

    await audit_screen(
        browser, served.url, path, state, STATES[state], check=check, user_agent=user_agent
    )


async def test_in_progress_renders_cleanly(
    browser: Browser, served: ServedApp, passkit: PassKitDouble, redis: Redis
) -> None:
    """A redemption still in flight shows the self-refreshing "Redeeming…" screen."""
    store = RedisClaims(redis)
    key = Names(SECRET_KEY.encode()).key("passkit", MEMBER)
    await store.claim(key, token="t" * 16, nonce="n" * 16, lease=30, hold=60, link=MEMBER)
    receipt = f"/redeemed/{key}-{'n' * 16}"
    await audit_screen(browser, served.url, receipt, "in-progress", 200, hold_still=True)
