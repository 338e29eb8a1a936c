"""The screens of an offer's own redemption type in real headless Chromium, on phones: a fixed
code as a barcode, its countdown, and the cashier's code field, with the same checks as every
other screen (no console error or CSP violation, nothing from another origin, under 30 KB,
44 px tap targets, no sideways scrolling, axe-core clean), and the countdown without JavaScript.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from resolver.app import create_app
from resolver.domain.coupons import Link
from resolver.web.links import link_url
from tests.conftest import Clock, settings_for
from tests.support.browser import PHONE, ServedApp, audit_screen, open_page

if TYPE_CHECKING:
    from collections.abc import Iterator

    from playwright.async_api import Browser, Page
    from redis.asyncio import Redis

    from tests.support.passkit import PassKitDouble

LINK = link_url(Link("camp-1", "member-1"), ())
FIXED = "REDEMPTION_TYPE_CUSTOMER_INITIATED_CODE_FIXED"
PROVIDED = "REDEMPTION_TYPE_CUSTOMER_INITIATED_CODE_PROVIDED_ON_REDEEM"


@pytest.fixture(scope="module")
def served(redis_url: str) -> Iterator[ServedApp]:
    """The resolver on a real uvicorn server, branded in light teal; PassKit is the double."""
    settings = settings_for(
        redis_url, log_level="warning", brand_name="Café Lumière", brand_color="#2a9d8f"
    )
    with ServedApp(create_app(settings, clock=Clock())) as served:
        yield served


def fixed_code_offer(passkit: PassKitDouble, **fixed: Any) -> None:
    settings = {"fixedCode": "COFFEE-2026", **fixed}
    passkit.add_offer(
        "offer-1", redemptionSettings={"redemptionType": [FIXED], "fixedCodeSettings": settings}
    )


async def redeem(browser: Browser, served: ServedApp, code: str | None = None) -> str:
    """Press the button on a phone (typing the cashier's code first, if given); the receipt."""
    context = await browser.new_context(viewport={"width": 390, "height": 844}, user_agent=PHONE)
    try:
        page, _ = await open_page(context, served.url + LINK, served.url)
        if code is not None:
            await page.fill("#redemption-code", code)
        await page.click("button[type=submit]")
        await page.wait_for_url("**/redeemed/**")
        return page.url.removeprefix(served.url)
    finally:
        await context.close()


async def test_a_fixed_code_screen_shows_the_code_and_its_barcode(
    browser: Browser, served: ServedApp, passkit: PassKitDouble, redis: Redis
) -> None:
    """The code large, and a QR code that fits the phone's width."""
    fixed_code_offer(passkit, barcode="QR")
    passkit.add("member-1")
    receipt = await redeem(browser, served)

    async def check(page: Page) -> None:
        assert await page.text_content(".shown-code") == "COFFEE-2026"
        box = await page.locator(".barcode svg").bounding_box()
        assert box is not None
        assert 150 <= box["width"] <= await page.evaluate("innerWidth")

    await audit_screen(
        browser, served.url, receipt, "fixed-code", 200, check=check, hold_still=True
    )


async def test_a_countdown_screen_counts_down(
    browser: Browser, served: ServedApp, passkit: PassKitDouble, redis: Redis
) -> None:
    """The countdown ticks (m:ss), beside the time it counts to, and a Code 128 barcode."""
    fixed_code_offer(
        passkit,
        barcode="CODE128",
        redemptionTimer={"timeoutSeconds": 600, "timerHelpText": "Staff: scan before the end."},
    )
    passkit.add("member-1")
    receipt = await redeem(browser, served)

    async def check(page: Page) -> None:
        await page.wait_for_function(
            "/^[0-9]+:[0-9]{2}$/.test(document.getElementById('countdown').textContent)"
        )
        before = await page.text_content("#countdown")
        await page.wait_for_function(
            "before => document.getElementById('countdown').textContent !== before",
            arg=before,
            timeout=1500,
        )
        assert await page.is_visible("#shown-code")

    await audit_screen(browser, served.url, receipt, "countdown", 200, check=check, hold_still=True)


async def test_when_the_countdown_ends_the_code_is_hidden(
    browser: Browser, served: ServedApp, passkit: PassKitDouble, redis: Redis
) -> None:
    """A 2-second timer: the script hides the code and says the time is over."""
    fixed_code_offer(passkit, redemptionTimer={"timeoutSeconds": 2})
    passkit.add("member-1")
    receipt = await redeem(browser, served)
    context = await browser.new_context(viewport={"width": 390, "height": 844}, user_agent=PHONE)
    try:
        page, _ = await open_page(context, served.url + receipt, served.url)
        await page.wait_for_selector("#countdown-over", state="visible", timeout=4000)
        assert not await page.is_visible("#shown-code")
    finally:
        await context.close()


async def test_without_javascript_the_countdown_says_until_when(
    browser: Browser, served: ServedApp, passkit: PassKitDouble, redis: Redis
) -> None:
    """No script: the code shows, with the time to show it before; nothing claims to tick."""
    fixed_code_offer(passkit, redemptionTimer={"timeoutSeconds": 600})
    passkit.add("member-1")
    receipt = await redeem(browser, served)
    context = await browser.new_context(
        viewport={"width": 390, "height": 844}, user_agent=PHONE, java_script_enabled=False
    )
    try:
        page, _ = await open_page(context, served.url + receipt, served.url)
        assert "Show it before" in await page.inner_text("#countdown-box")
        assert await page.text_content("#countdown") == ""
        assert await page.is_visible("#shown-code")
    finally:
        await context.close()


async def test_the_cashier_code_screen_asks_with_the_offers_texts(
    browser: Browser, served: ServedApp, passkit: PassKitDouble, redis: Redis
) -> None:
    """A labelled field with the offer's helper text and placeholder, and its button text;
    the right code then redeems."""
    provided = {
        "validCodes": ["2468"],
        "redemptionCodeInput": {
            "label": "Code from the barista",
            "helperText": "The barista tells you a 4-digit code.",
            "placeholder": "4 digits",
        },
        "submitButtonText": "Send the code",
    }
    passkit.add_offer(
        "offer-1",
        redemptionSettings={"redemptionType": [PROVIDED], "codeProvidedOnRedeemSettings": provided},
    )
    passkit.add("member-1", display_name="Alex Member")

    async def check(page: Page) -> None:
        assert await page.text_content("label[for=redemption-code]") == "Code from the barista"
        assert await page.get_attribute("#redemption-code", "placeholder") == "4 digits"
        assert (await page.text_content("button[type=submit]") or "").strip() == "Send the code"

    await audit_screen(browser, served.url, LINK, "cashier-code", 200, check=check)
    receipt = await redeem(browser, served, code="2468")
    assert receipt.startswith("/redeemed/")
    assert passkit.redeem_bodies[-1]["redemptionDetails"]["redemptionCode"] == "2468"
