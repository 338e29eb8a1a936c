"""The deployment's brand on every page: name, colour, logo and support link, from settings.

The colour reaches the pages through a small stylesheet the service generates once
(`/static/brand.css`), so the Content-Security-Policy needs no inline styles. Text on the
brand colour is black or white, whichever contrasts more: one of the two always reaches
WCAG AA's 4.5:1, whatever colour is configured. A logo file is served by the service itself;
a logo URL is fetched by the browser, so its origin is added to the policy's `img-src`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from starlette.responses import Response
from starlette.routing import Route

if TYPE_CHECKING:
    from starlette.requests import Request

    from resolver.settings import Settings

BLACK, WHITE = "#000000", "#ffffff"
# The page backgrounds of app.css, light and dark.
LIGHT_PAGE, DARK_PAGE = "#ffffff", "#121212"
# WCAG 1.4.11: a button must stand out from the page by 3:1, or get a visible edge.
NON_TEXT_CONTRAST = 3.0
LOGO_TYPES = {
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".webp": "image/webp",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
}


def luminance(colour: str) -> float:
    """WCAG 2's relative luminance of a `#rrggbb` colour."""

    def linear(channel: int) -> float:
        value = channel / 255
        return value / 12.92 if value <= 0.04045 else ((value + 0.055) / 1.055) ** 2.4

    red, green, blue = (linear(int(colour[i : i + 2], 16)) for i in (1, 3, 5))
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def contrast(one: str, other: str) -> float:
    """WCAG 2's contrast ratio of two `#rrggbb` colours, from 1 to 21."""
    light, dark = sorted((luminance(one), luminance(other)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def readable_on(background: str) -> str:
    """Black or white, whichever is easier to read on `background`."""
    return BLACK if contrast(background, BLACK) >= contrast(background, WHITE) else WHITE


@dataclass(frozen=True)  # no slots: the stylesheet is worked out once, by cached_property
class Brand:
    """How the pages look for this deployment."""

    name: str
    colour: str
    support_url: str | None = None
    logo_url: str | None = None  # what <img src> points at
    logo_origin: str | None = None  # a remote logo's origin, allowed by the CSP's img-src
    logo_file: bytes | None = None
    logo_type: str = ""

    @classmethod
    def from_settings(cls, settings: Settings) -> Brand:
        brand = cls(settings.brand_name, settings.brand_color, settings.support_url)
        logo = settings.brand_logo
        if logo is None:
            return brand
        if logo.startswith("https://"):
            origin = f"https://{urlsplit(logo).netloc}"
            return replace(brand, logo_url=logo, logo_origin=origin)
        path = Path(logo)
        content = path.read_bytes()
        suffix = path.suffix.lower()
        url = f"/static/brand/logo{suffix}?v={fingerprint(content)}"
        return replace(brand, logo_url=url, logo_file=content, logo_type=LOGO_TYPES[suffix])

    @cached_property
    def on_colour(self) -> str:
        return readable_on(self.colour)

    @property
    def img_sources(self) -> tuple[str, ...]:
        """What the CSP's img-src must allow besides 'self'."""
        return (self.logo_origin,) if self.logo_origin else ()

    @cached_property
    def css(self) -> str:
        """The brand stylesheet: the colour, the text on it, and the button's edge per scheme."""
        edges = [
            self.colour if contrast(self.colour, page) >= NON_TEXT_CONTRAST else self.on_colour
            for page in (LIGHT_PAGE, DARK_PAGE)
        ]
        return (
            f":root{{--brand:{self.colour};--on-brand:{self.on_colour};--brand-edge:{edges[0]}}}\n"
            f"@media (prefers-color-scheme:dark){{:root{{--brand-edge:{edges[1]}}}}}\n"
        )

    @cached_property
    def css_url(self) -> str:
        return f"/static/brand.css?v={fingerprint(self.css.encode())}"

    def routes(self) -> list[Route]:
        """The stylesheet and the logo file (listed before the /static mount, so they win)."""
        css = self.css.encode()

        async def stylesheet(request: Request) -> Response:
            return Response(css, media_type="text/css; charset=utf-8")

        routes = [Route("/static/brand.css", stylesheet, methods=["GET"])]
        if self.logo_file is not None and self.logo_url is not None:
            content, media_type = self.logo_file, self.logo_type

            async def logo(request: Request) -> Response:
                return Response(content, media_type=media_type)

            routes.append(Route(self.logo_url.partition("?")[0], logo, methods=["GET"]))
        return routes


def fingerprint(content: bytes) -> str:
    """A short content hash for cache-busting `?v=` query strings."""
    return hashlib.sha256(content).hexdigest()[:10]
