"""A fixed code drawn as each of PassKit's barcode types: inline SVG that scales and passes the
strict CSP, or nothing (the code is then shown as text alone); and the only links a merchant's
button may have."""

from __future__ import annotations

import pytest

from resolver.web.barcodes import barcode_svg
from resolver.web.rendering import outbound_link


@pytest.mark.parametrize("kind", ["QR", "AZTEC", "PDF417", "CODE128", "code_128", "pdf-417"])
def test_each_type_is_an_inline_svg_that_scales(kind: str) -> None:
    """No XML declaration, doctype, comment, style attribute or script; a viewBox to scale."""
    svg = barcode_svg("COFFEE-2026", kind)
    assert svg is not None
    assert svg.startswith("<svg")
    assert "viewBox" in svg[: svg.index(">")]
    for absent in ("<?xml", "<!DOCTYPE", "<!--", "style=", "<script", "COFFEE"):
        assert absent not in svg


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        ("COFFEE", "NONE"),
        ("COFFEE", ""),
        ("COFFEE", "EAN13"),
        ("", "QR"),
        ("x" * 81, "QR"),
        ("é", "CODE128"),  # Code 128 carries ASCII only
    ],
)
def test_no_barcode_when_none_is_set_or_the_code_cannot_be_drawn(code: str, kind: str) -> None:
    """No type, an unknown one, no code, a code too long for a screen or one the symbology
    cannot carry: no barcode, and no error."""
    assert barcode_svg(code, kind) is None


@pytest.mark.parametrize(
    ("link", "used"),
    [
        ("https://cafe.example/menu", "https://cafe.example/menu"),
        (" http://cafe.example/ ", "http://cafe.example/"),
        ("javascript:alert(1)", ""),
        ("data:text/html,hi", ""),
        ("//cafe.example/", ""),
        ("/relative", ""),
        ("", ""),
    ],
)
def test_a_merchants_button_links_only_to_http_or_https(link: str, used: str) -> None:
    """Escaping cannot make a `javascript:` link safe: anything but absolute http(s) is dropped."""
    assert outbound_link(link) == used
