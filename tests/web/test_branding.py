"""Branding from settings: readable colours, the brand stylesheet, the logo and the CSP it needs."""

from __future__ import annotations

import itertools
import re
from typing import TYPE_CHECKING

import pytest

from resolver.app import create_app
from resolver.web.branding import Brand, contrast, readable_on
from tests.conftest import running

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from redis.asyncio import Redis

    from resolver.settings import Settings
    from tests.support.passkit import PassKitDouble

LINK = {"externalId": "member-1", "campaignId": "camp-1"}
SVG = (
    b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 9 9"><rect width="9" height="9"/></svg>'
)


def test_contrast_is_wcags_ratio() -> None:
    """Black on white is 21:1, a colour on itself 1:1, and #767676 on white just passes AA."""
    assert contrast("#000000", "#ffffff") == pytest.approx(21)
    assert contrast("#1f4e8c", "#1f4e8c") == pytest.approx(1)
    assert contrast("#767676", "#ffffff") == pytest.approx(4.54, abs=0.01)


def test_text_on_any_brand_colour_reaches_wcag_aa() -> None:
    """Whatever colour is configured, the text chosen for it contrasts by at least 4.5:1."""
    steps = range(0, 256, 15)
    for red, green, blue in itertools.product(steps, steps, steps):
        colour = f"#{red:02x}{green:02x}{blue:02x}"
        assert contrast(colour, readable_on(colour)) >= 4.5, colour


@pytest.mark.parametrize(
    ("colour", "text"), [("#1f4e8c", "#ffffff"), ("#ffd400", "#000000"), ("#0b6e4f", "#ffffff")]
)
def test_the_brand_stylesheet_sets_the_colour_and_its_text(colour: str, text: str) -> None:
    """--brand is the configured colour, --on-brand the readable text colour on it."""
    css = Brand("Shop", colour).css
    assert f"--brand:{colour};--on-brand:{text}" in css


def test_a_pale_brand_colour_gets_a_visible_button_edge() -> None:
    """A yellow button on a white page is outlined in its text colour (WCAG 1.4.11, 3:1)."""
    css = Brand("Shop", "#ffd400").css
    assert "--brand-edge:#000000}" in css.splitlines()[0]
    assert "--brand-edge:#ffd400}" in css.splitlines()[1]  # on the dark page it stands out


async def test_the_brand_name_colour_and_support_link_reach_every_page(
    make_settings: Callable[..., Settings], passkit: PassKitDouble, redis: Redis
) -> None:
    """Title, header, a versioned brand.css with the colour, and the footer's support link."""
    settings = make_settings(
        brand_name="Café Lumière", brand_color="#7A1F5C", support_url="mailto:help@example.com"
    )
    async with running(create_app(settings)) as client:
        page = await client.get("/redeem", params=LINK)
        css_url = re.search(r'href="(/static/brand\.css\?v=\w+)"', page.text)
        assert css_url is not None
        css = await client.get(css_url.group(1))
    assert "<title>No active coupon · Café Lumière</title>" in page.text
    assert '<p class="name">Café Lumière</p>' in page.text
    assert '<a href="mailto:help@example.com">Contact support</a>' in page.text
    assert css.headers["content-type"] == "text/css; charset=utf-8"
    assert "--brand:#7a1f5c;--on-brand:#ffffff" in css.text
    assert css.headers["cache-control"] == "public, max-age=86400"


async def test_a_logo_file_is_served_by_the_service(
    make_settings: Callable[..., Settings], passkit: PassKitDouble, redis: Redis, tmp_path: Path
) -> None:
    """The page shows the logo from this origin, so the CSP stays 'self' only."""
    logo = tmp_path / "logo.svg"
    logo.write_bytes(SVG)
    async with running(create_app(make_settings(brand_logo=str(logo)))) as client:
        page = await client.get("/redeem", params=LINK)
        src = re.search(r'<img class="logo" src="([^"]+)" alt="Coupons">', page.text)
        assert src is not None
        image = await client.get(src.group(1))
    assert src.group(1).startswith("/static/brand/logo.svg?v=")
    assert (image.status_code, image.content) == (200, SVG)
    assert image.headers["content-type"] == "image/svg+xml"
    assert "img-src 'self';" in page.headers["content-security-policy"]


async def test_a_logo_url_adds_its_origin_to_the_csp(
    make_settings: Callable[..., Settings], passkit: PassKitDouble, redis: Redis
) -> None:
    """An https logo elsewhere is allowed by img-src for that origin, and for nothing else."""
    url = "https://cdn.example.com:8443/brand/logo.png"
    async with running(create_app(make_settings(brand_logo=url))) as client:
        page = await client.get("/redeem", params=LINK)
    assert f'<img class="logo" src="{url}" alt="Coupons">' in page.text
    csp = page.headers["content-security-policy"]
    assert "img-src 'self' https://cdn.example.com:8443;" in csp
    assert "script-src 'self';" in csp
    assert "style-src 'self';" in csp
