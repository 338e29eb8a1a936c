"""Every screen in real headless Chromium: two phone sizes, both colour schemes, two languages.

Each state is rendered at 390x844 (light, English) and 320x640 (dark, German), screenshotted to
tests/artifacts/screens/, and must load nothing from another origin, log no console error,
trigger no CSP violation, weigh under 30 KB, keep every tap target at 44 px or more, never
scroll sideways, and pass axe-core without serious or critical violations.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Literal

import pytest
from playwright.async_api import Error as PlaywrightError
from playwright.async_api import async_playwright

from resolver.app import create_app
from resolver.models import Link
from resolver.store import Store
from resolver.web.links import link_url
from tests.conftest import SECRET_KEY, Clock, settings_for
from tests.support.browser import (
    CHROMIUM,
    LAUNCH_ARGS,
    ServedApp,
    csp_violations,
    ensure_chromium,
    open_page,
    overflows,
    screenshot,
    serious_accessibility_violations,
    small_targets,
)

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

    from playwright.async_api import Browser, Page, Route
    from redis.asyncio import Redis

    from tests.support.passkit import PassKitDouble

PHONE = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Mobile Safari/537.36"
)
SLACK = "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)"
MEMBER = Link("camp-1", "member-1")
LINK = link_url(MEMBER, ())
LIVE_SECONDS = 120
MAX_PAGE_BYTES = 30 * 1024
LOGO = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 180 32" width="180" height="32">'
    '<circle cx="16" cy="16" r="11" fill="none" stroke="#10302b" stroke-width="4"/>'
    '<path d="M27 12h3a4 4 0 0 1 0 8h-3" fill="none" stroke="#10302b" stroke-width="3"/>'
    '<text x="38" y="22" font-family="sans-serif" font-size="16" font-weight="700" '
    'fill="#10302b">Café Lumière</text></svg>'
)


@dataclass(frozen=True)
class View:
    name: str
    width: int
    height: int
    scheme: Literal["light", "dark"]
    locale: str


VIEWS = [View("390x844", 390, 844, "light", "en-US"), View("320x640", 320, 640, "dark", "de-DE")]


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


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    """Debian's Chromium (installed when missing and we are root), or a skip saying why not."""
    reason = ensure_chromium()
    if reason is not None:
        pytest.skip(reason)
    async with async_playwright() as playwright:
        try:
            browser = await playwright.chromium.launch(
                executable_path=str(CHROMIUM), args=LAUNCH_ARGS
            )
        except PlaywrightError as error:
            pytest.skip(f"{CHROMIUM} does not start here: {error.message.splitlines()[0]}")
        yield browser
        await browser.close()


async def audit_screen(
    browser: Browser,
    served: ServedApp,
    path: str,
    name: str,
    status: int,
    *,
    check: Callable[[Page], Awaitable[None]] | None = None,
    user_agent: str = PHONE,
    hold_still: bool = False,
) -> None:
    """Render `path` in every view and fail with everything found wrong in any of them.

    `hold_still` drops the Refresh header, so a self-reloading page stays put while audited.
    """
    problems: list[str] = []
    for view in VIEWS:
        context = await browser.new_context(
            viewport={"width": view.width, "height": view.height},
            color_scheme=view.scheme,
            locale=view.locale,
            user_agent=user_agent,
            device_scale_factor=1,
        )
        try:
            if hold_still:
                await context.route(f"{served.url}/**", _without_refresh)
            page, audit = await open_page(context, served.url + path, served.url)
            assert audit.status == status
            html_lang = await page.evaluate("document.documentElement.lang")
            assert html_lang == view.locale, f"{view.name}: <html lang={html_lang}>"
            # Chrome reports the document's own error status (404, 410…) as a console error.
            expected = f"the server responded with a status of {status} "
            found = [f"console: {e}" for e in audit.console_errors if expected not in e]
            found += [f"CSP: {violation}" for violation in await csp_violations(page)]
            found += [f"foreign request: {url}" for url in audit.foreign_requests]
            found += [f"tap target: {target}" for target in await small_targets(page)]
            if await overflows(page):
                found.append("scrolls sideways")
            weight = await audit.transferred_bytes()
            if weight > MAX_PAGE_BYTES:
                found.append(f"{weight} bytes on the wire")
            if check is not None:
                await check(page)
            await screenshot(page, f"{name}-{view.name}")
            found += await serious_accessibility_violations(page)
            problems += [f"{view.name}: {problem}" for problem in found]
        finally:
            await context.close()
    assert not problems, "\n".join(problems)


async def _without_refresh(route: Route) -> None:
    response = await route.fetch()
    headers = {k: v for k, v in response.headers.items() if k.lower() != "refresh"}
    await route.fulfill(response=response, headers=headers)


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

    await audit_screen(browser, served, LINK, "confirm", 200, check=check)


async def test_a_success_screen_proves_it_is_live(
    browser: Browser, served: ServedApp, passkit: PassKitDouble, redis: Redis
) -> None:
    """A ticking clock, running motion and the server's verification code for this receipt."""
    passkit.add("member-1")
    receipt = await redeem(browser, served)
    code = Store(redis, SECRET_KEY.encode()).verification_code(receipt.removeprefix("/redeemed/"))

    async def check(page: Page) -> None:
        assert await page.text_content("#code") == code
        before = await page.text_content("#clock")
        await page.wait_for_function(
            "before => document.getElementById('clock').textContent !== before",
            arg=before,
            timeout=1500,
        )
        assert {"sweep", "pulse"} <= set(await running_animations(page))

    await audit_screen(browser, served, receipt, "success", 200, check=check)


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
        await audit_screen(browser, served, receipt, "stale", 200, check=check)
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

    await audit_screen(browser, served, LINK, "already-redeemed", 200, check=check)


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
        browser, served, path, state, STATES[state], check=check, user_agent=user_agent
    )


async def test_in_progress_renders_cleanly(
    browser: Browser, served: ServedApp, passkit: PassKitDouble, redis: Redis
) -> None:
    """A redemption still in flight shows the self-refreshing "Redeeming…" screen."""
    store = Store(redis, SECRET_KEY.encode())
    key = store.key("passkit", MEMBER)
    await store.claim(key, token="t" * 16, nonce="n" * 16, lease=30, hold=60)
    receipt = f"/redeemed/{key}-{'n' * 16}"
    await audit_screen(browser, served, receipt, "in-progress", 200, hold_still=True)
