"""The staff code screens in real headless Chromium, on phones: code entry, a wrong code, the
location choice, a verified success, and all of it without JavaScript too.

As in test_screens.py: no console error, no CSP violation, nothing from another origin, tap
targets of 44 px or more, no sideways scrolling, under 30 KB, and axe-core clean.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pytest

from resolver.app import create_app
from resolver.domain.coupons import Link
from resolver.web.links import link_url
from tests.conftest import Clock, settings_for
from tests.support.browser import (
    PHONE,
    VIEWS,
    ServedApp,
    audit_screen,
    open_page,
    page_problems,
    screenshot,
    serious_accessibility_violations,
)
from tests.support.staff import PIN, store_code, write_staff_file

if TYPE_CHECKING:
    from collections.abc import Iterator

    from playwright.async_api import Browser, Geolocation, Page
    from redis.asyncio import Redis

    from tests.support.passkit import PassKitDouble

LINK = link_url(Link("camp-1", "member-1"), ())
PARIS_OPERA: Geolocation = {"latitude": 48.870812, "longitude": 2.331734}


@pytest.fixture(scope="module")
def served(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedApp]:
    """The resolver with staff codes required and location capture on, branded in light teal."""
    staff_file = write_staff_file(tmp_path_factory.mktemp("staff"))
    settings = settings_for(
        redis_url,
        log_level="warning",
        brand_name="Café Lumière",
        brand_color="#2a9d8f",
        staff_verification="required",
        staff_file=str(staff_file),
        capture_location=True,
    )
    with ServedApp(create_app(settings, clock=Clock())) as served:
        yield served


async def test_the_code_entry_screen_is_a_big_labelled_numeric_field(
    browser: Browser, served: ServedApp, passkit: PassKitDouble, redis: Redis
) -> None:
    """A numeric keypad, large digits, a label, 44 px targets, and the location choice shown."""
    passkit.add("member-1", display_name="Alex Member")

    async def check(page: Page) -> None:
        field = page.locator("#staff-code")
        assert await field.get_attribute("inputmode") == "numeric"
        assert await field.get_attribute("autocomplete") == "one-time-code"
        assert await field.get_attribute("required") is not None
        label = await page.text_content("label[for=staff-code]")
        assert label in ("Staff code", "Mitarbeitercode")
        assert await page.get_by_label(label or "").count() == 1
        size = await field.evaluate("e => parseFloat(getComputedStyle(e).fontSize)")
        assert size >= 28
        box = await field.bounding_box()
        assert box is not None
        assert box["height"] >= 48
        assert await page.is_visible("#locate")  # the script offers it

    await audit_screen(browser, served.url, LINK, "staff-code", 200, check=check)


async def test_a_wrong_code_is_said_on_the_screen_with_the_tries_left(
    browser: Browser, served: ServedApp, passkit: PassKitDouble, redis: Redis
) -> None:
    """Typed on the phone: the page comes back saying so, field marked invalid, still clean."""
    passkit.add("member-1")
    problems: list[str] = []
    for tries, view in enumerate(VIEWS):
        context = await browser.new_context(
            viewport={"width": view.width, "height": view.height},
            color_scheme=view.scheme,
            locale=view.locale,
            user_agent=PHONE,
        )
        try:
            page, audit = await open_page(context, served.url + LINK, served.url)
            await page.fill("#staff-code", "000000")
            async with page.expect_navigation():
                await page.click("button[type=submit]")
            assert await page.get_attribute("#staff-code", "aria-invalid") == "true"
            assert await page.input_value("#staff-code") == ""
            error = await page.text_content("#staff-code-error") or ""
            assert f" {4 - tries} " in error  # 5 per coupon, one spent per view
            found = await page_problems(page, audit, 403)
            await screenshot(page, f"staff-code-wrong-{view.name}")
            found += await serious_accessibility_violations(page)
            problems += [f"{view.name}: {problem}" for problem in found]
        finally:
            await context.close()
    assert not problems, "\n".join(problems)
    assert passkit.redeem_calls == 0


async def test_the_store_code_and_the_location_redeem_and_say_who_verified(
    browser: Browser, served: ServedApp, passkit: PassKitDouble, redis: Redis
) -> None:
    """Tick "share location", type the store's code: verified, with lat/lon sent upstream."""
    passkit.add("member-1")
    context = await browser.new_context(
        viewport={"width": 390, "height": 844},
        user_agent=PHONE,
        geolocation=PARIS_OPERA,
        permissions=["geolocation"],
    )
    try:
        page, audit = await open_page(context, served.url + LINK, served.url)
        await page.check("#share-location")
        await page.wait_for_selector("[data-state=added]", state="visible")
        await page.fill("#staff-code", store_code(datetime.now(UTC)))
        async with page.expect_navigation(url="**/redeemed/**"):
            await page.click("button[type=submit]")
        assert await page.text_content(".verified") == "Verified with the store code · Paris Opéra"
        assert not await page_problems(page, audit, 200)
        await screenshot(page, "staff-verified-390x844")
    finally:
        await context.close()
    details = passkit.redeem_bodies[0]["redemptionDetails"]
    assert (details["lat"], details["lon"]) == (48.8708, 2.3317)
    assert details["metaData"]["storeId"] == "paris"


async def test_without_javascript_the_code_still_works_and_nothing_asks_for_a_location(
    browser: Browser, served: ServedApp, passkit: PassKitDouble, redis: Redis
) -> None:
    """The browser itself refuses an empty required field; a PIN redeems; no location offered."""
    passkit.add("member-1")
    context = await browser.new_context(java_script_enabled=False, user_agent=PHONE)
    try:
        page, _ = await open_page(context, served.url + LINK, served.url)
        assert not await page.is_visible("#locate")
        await page.click("button[type=submit]")
        assert await page.evaluate("document.getElementById('staff-code').validity.valueMissing")
        assert "/redeemed/" not in page.url
        await page.fill("#staff-code", PIN)
        async with page.expect_navigation(url="**/redeemed/**"):
            await page.click("button[type=submit]")
        assert await page.text_content(".verified") == "Verified by Ana Lima · Paris Opéra"
    finally:
        await context.close()
    assert passkit.redeem_calls == 1
    assert "lat" not in passkit.redeem_bodies[0]["redemptionDetails"]
