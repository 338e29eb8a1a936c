"""The staff's counter view in real headless Chromium: signing in, the live list, a member's
redemption arriving within a second with the code the member's screen shows, the lockout, and
the page without JavaScript.

As for the member's screens: no console error, no CSP violation, nothing from another origin,
tap targets of 44 px or more, no sideways scrolling, under 30 KB, and axe-core clean, at both
phone sizes, light and dark, in English and German.
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import TYPE_CHECKING

import pytest

from resolver.app import create_app
from resolver.domain.coupons import Link
from resolver.web.links import link_url
from tests.conftest import Clock, settings_for
from tests.support.audit import add_entry, writer_present
from tests.support.browser import (
    PHONE,
    VIEWS,
    Audit,
    ServedApp,
    open_page,
    page_problems,
    screenshot,
    serious_accessibility_violations,
)
from tests.support.staff import PIN, write_staff_file

if TYPE_CHECKING:
    from collections.abc import Iterator

    from playwright.async_api import Browser, BrowserContext, Page
    from redis.asyncio import Redis

    from tests.support.browser import View
    from tests.support.passkit import PassKitDouble

LINK = link_url(Link("camp-1", "member-1"), ())
COUNTER = "/counter/paris"
# A member's redemption must be on the staff's screen this soon after it happened.
WITHIN_S = 1.0


@pytest.fixture(scope="module")
def clock() -> Clock:
    """The served app's clock: real time, moved on by tests of sessions ending."""
    return Clock()


@pytest.fixture(scope="module")
def served(
    redis_url: str, tmp_path_factory: pytest.TempPathFactory, clock: Clock
) -> Iterator[ServedApp]:
    """The resolver with staff codes required and the counter view on, branded in light teal."""
    staff_file = write_staff_file(tmp_path_factory.mktemp("staff"))
    settings = settings_for(
        redis_url,
        log_level="warning",
        brand_name="Café Lumière",
        brand_color="#2a9d8f",
        staff_verification="required",
        staff_file=str(staff_file),
    )
    with ServedApp(create_app(settings, clock=clock)) as served:
        yield served


async def staff_device(
    browser: Browser, view: View = VIEWS[0], *, javascript: bool = True
) -> BrowserContext:
    return await browser.new_context(
        viewport={"width": view.width, "height": view.height},
        color_scheme=view.scheme,
        locale=view.locale,
        user_agent=PHONE,
        device_scale_factor=1,
        java_script_enabled=javascript,
    )


async def signed_in(context: BrowserContext, served: ServedApp) -> tuple[Page, Audit]:
    """The counter view, signed in with Ana's PIN, its events stream open."""
    page, audit = await open_page(context, served.url + COUNTER, served.url)
    await page.fill("#staff-code", PIN)
    async with page.expect_navigation(url=f"**{COUNTER}"):
        await page.click("button[type=submit]")
    return page, audit


async def live(page: Page) -> None:
    """Wait until the page says its events stream is open."""
    text = await page.get_attribute("#live", "data-live")
    await page.wait_for_function(
        "text => document.getElementById('live').textContent === text", arg=text, timeout=5_000
    )


async def problems_of(page: Page, audit: Audit, status: int) -> list[str]:
    """page_problems, leaving out the events stream (it never ends, so it has no size yet)."""
    audit.requests = [r for r in audit.requests if "/events" not in r.url]
    return await page_problems(page, audit, status) + await serious_accessibility_violations(page)


async def member_redeems(browser: Browser, served: ServedApp) -> str:
    """A member's phone redeems with Ana's PIN typed in; the verification code it shows."""
    phone = await browser.new_context(viewport={"width": 390, "height": 844}, user_agent=PHONE)
    try:
        page, _ = await open_page(phone, served.url + LINK, served.url)
        await page.fill("#staff-code", PIN)
        async with page.expect_navigation(url="**/redeemed/**"):
            await page.click("button[type=submit]")
        return (await page.text_content("#code")) or ""
    finally:
        await phone.close()


async def test_the_sign_in_and_the_list_pass_every_screen_check(
    browser: Browser, served: ServedApp, passkit: PassKitDouble, redis: Redis
) -> None:
    """Both views: the sign-in form, the list, and the list after a row arrived, all clean."""
    await add_entry(redis, code="K7WX", employee="ana", offer="offer-1")
    await add_entry(redis, code="H3RT", outcome="already_redeemed")
    problems: list[str] = []
    for view in VIEWS:
        context = await staff_device(browser, view)
        try:
            page, audit = await open_page(context, served.url + COUNTER, served.url)
            found = await problems_of(page, audit, 200)
            await screenshot(page, f"counter-sign-in-{view.name}")
            audit.requests.clear()
            await page.fill("#staff-code", PIN)
            async with page.expect_navigation(url=f"**{COUNTER}"):
                await page.click("button[type=submit]")
            await live(page)
            assert await page.evaluate("document.documentElement.lang") == view.locale
            await add_entry(redis, code="M4PC", offer="offer-1")
            await page.wait_for_selector(".entry.new .code >> text=M4PC", timeout=2_000)
            found += await problems_of(page, audit, 200)
            await screenshot(page, f"counter-{view.name}")
            problems += [f"{view.name}: {problem}" for problem in found]
        finally:
            await context.close()
    assert not problems, "\n".join(problems)


async def test_a_redemption_appears_on_the_staff_page_within_a_second_with_its_code(
    browser: Browser, served: ServedApp, passkit: PassKitDouble, redis: Redis
) -> None:
    """The member's phone redeems; the audit entry it settles into (added here as the audit
    writer adds it) is on the open staff page within a second, with the same code."""
    passkit.add("member-1")
    staff = await staff_device(browser)
    try:
        page, _ = await signed_in(staff, served)
        await live(page)
        code = await member_redeems(browser, served)
        assert len(code) == 4
        started = time.perf_counter()
        await add_entry(redis, code=code, employee="ana", offer="offer-1")
        await page.wait_for_selector(f".entry .code >> text={code}", timeout=WITHIN_S * 1000)
        elapsed = time.perf_counter() - started
        row = await page.text_content(".entry")
        assert row is not None
        assert "Verified by Ana Lima (PIN)" in row
        assert "Free coffee" in row
    finally:
        await staff.close()
    assert elapsed < WITHIN_S


async def test_a_real_redemption_reaches_the_staff_page_through_the_audit_writer(
    browser: Browser, served: ServedApp, passkit: PassKitDouble, redis: Redis
) -> None:
    """End to end: the member's redemption, the service's own audit entry, the staff's row."""
    if not writer_present():
        pytest.skip("audit writer not present")
    passkit.add("member-1")
    staff = await staff_device(browser)
    try:
        page, _ = await signed_in(staff, served)
        await live(page)
        code = await member_redeems(browser, served)
        await page.wait_for_selector(f".entry .code >> text={code}", timeout=WITHIN_S * 1000)
        row = await page.text_content(".entry")
        assert row is not None
        assert "Verified by Ana Lima (PIN)" in row
    finally:
        await staff.close()


async def test_a_wrong_store_code_is_refused_then_the_store_locks(
    browser: Browser, served: ServedApp, redis: Redis
) -> None:
    """Four refusals with the tries left, then locked: even the right PIN opens nothing."""
    context = await staff_device(browser)
    try:
        page, audit = await open_page(context, served.url + COUNTER, served.url)
        for left in (4, 3, 2, 1):
            await page.fill("#staff-code", "000000")
            async with page.expect_navigation():
                await page.click("button[type=submit]")
            error = await page.text_content("#staff-code-error") or ""
            assert f" {left} " in error
            assert await page.get_attribute("#staff-code", "aria-invalid") == "true"
        found = await problems_of(page, audit, 403)
        for code in ("000000", PIN):
            await page.fill("#staff-code", code)
            async with page.expect_navigation() as navigation:
                await page.click("button[type=submit]")
            response = await navigation.value
            assert response is not None
            assert response.status == 429
            assert "Too many wrong codes" in (await page.text_content("main") or "")
        await screenshot(page, "counter-locked-390x844")
        assert not await context.cookies()
    finally:
        await context.close()
    assert not found, "\n".join(found)


async def test_without_javascript_the_page_signs_in_and_reloads(
    browser: Browser, served: ServedApp, redis: Redis
) -> None:
    """The form works, the list shows, the page reloads itself, and the reload link works."""
    context = await staff_device(browser, javascript=False)
    try:
        page, _ = await signed_in(context, served)
        assert await page.text_content("#empty")
        assert 'http-equiv="refresh"' in await page.content()
        await add_entry(redis, code="K7WX")
        async with page.expect_navigation():
            await page.click("a.button")
        assert await page.text_content(".entry .code") == "K7WX"
        async with page.expect_navigation(url=f"**{COUNTER}"):
            await page.click("button.quiet")
        assert await page.is_visible("#staff-code")
    finally:
        await context.close()


async def test_signing_out_on_one_page_is_followed_by_the_open_stream(
    browser: Browser, served: ServedApp, redis: Redis
) -> None:
    """Sign out: the cookie is gone, and the page shows the form again."""
    context = await staff_device(browser)
    try:
        page, _ = await signed_in(context, served)
        await live(page)
        async with page.expect_navigation(url=f"**{COUNTER}"):
            await page.click("button.quiet")
        assert await page.is_visible("#staff-code")
        assert not await context.cookies()
    finally:
        await context.close()


async def test_an_open_page_whose_session_ends_goes_back_to_the_sign_in_form(
    browser: Browser, served: ServedApp, clock: Clock, redis: Redis
) -> None:
    """The stream says `signed-out` (checked every 5 s); the script reloads to the form."""
    context = await staff_device(browser)
    try:
        page, _ = await signed_in(context, served)
        await live(page)
        clock.shift = timedelta(hours=13)  # past RESOLVER_COUNTER_SESSION_SECONDS (12 h)
        await page.wait_for_selector("#staff-code", timeout=10_000)
    finally:
        clock.shift = timedelta(0)
        await context.close()
