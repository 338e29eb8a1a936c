"""The browser the screen tests share: one Chromium for the whole session."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from playwright.async_api import Error as PlaywrightError
from playwright.async_api import async_playwright

from tests.support.browser import CHROMIUM, LAUNCH_ARGS, ensure_chromium

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from playwright.async_api import Browser


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
