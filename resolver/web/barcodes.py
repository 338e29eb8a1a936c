"""The fixed code an offer shows staff, drawn as the barcode type the offer names, as inline SVG.

Server-side and script-free, so it passes the page's strict CSP and shows without JavaScript.
One well-kept library per symbology: segno (QR), python-barcode (Code 128), pdf417gen (PDF417)
and aztec-code-generator (Aztec). PassKit names the type in `fixedCodeSettings.barcode`
(`QR`, `AZTEC`, `PDF417`, `CODE128`, `NONE`). None of the SVGs carries the code as text: the
page prints the code itself, escaped, beside it.
"""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
from functools import lru_cache

import barcode
import pdf417gen
import segno
from aztec_code_generator import AztecCode
from barcode.writer import SVGWriter
from markupsafe import Markup

SYMBOLOGIES = ("QR", "AZTEC", "PDF417", "CODE128")
SIZE = re.compile(r'\s(?P<name>width|height)="(?P<value>[0-9.]+)(?P<unit>mm|px)?"')
FILL_STYLE = re.compile(r'style="fill:\s*(?P<colour>#?[a-zA-Z0-9]+);?"')
# Longer than any code staff read off a screen; a longer one is shown as text only.
MAX_CODE = 80


def barcode_svg(code: str, kind: str) -> Markup | None:
    """`code` drawn as `kind`, or None for no barcode (none configured, an unknown type, or a
    code the symbology cannot carry): the page then shows the code as text alone."""
    kind = kind.upper().replace("_", "").replace("-", "")
    if not code or kind not in SYMBOLOGIES or len(code) > MAX_CODE:
        return None
    try:
        return Markup(_draw(code, kind))  # noqa: S704  # generated SVG holding no text of the code
    except (ValueError, TypeError, barcode.errors.BarcodeError, segno.DataOverflowError):
        return None


@lru_cache(maxsize=256)
def _draw(code: str, kind: str) -> str:
    if kind == "QR":
        return segno.make(code, error="m").svg_inline(scale=6, border=2, omitsize=True)
    if kind == "CODE128":
        out = io.BytesIO()
        barcode.Code128(code, writer=SVGWriter()).write(
            out, options={"write_text": False, "module_height": 18.0, "quiet_zone": 4.0}
        )
        return _inline(out.getvalue().decode())
    if kind == "PDF417":
        tree = pdf417gen.render_svg(pdf417gen.encode(code, columns=6), scale=3, ratio=3)
        return _inline(ET.tostring(tree.getroot(), encoding="unicode"))
    out = io.BytesIO()
    AztecCode(code).save_svg(out, module_size=6)
    return _inline(out.getvalue().decode())


def _inline(document: str) -> str:
    """An SVG document as an element to put in HTML: no XML declaration, doctype or comments,
    and a viewBox in place of a fixed size, so the page's CSS can scale it to the screen."""
    start = document.find("<svg")
    if start < 0:
        raise ValueError("no svg element")
    body = document[start:]
    while "<!--" in body:
        before, _, rest = body.partition("<!--")
        body = before + rest.partition("-->")[2]
    # The page's CSP allows no inline styles: python-barcode's fills become attributes.
    body = FILL_STYLE.sub(r'fill="\g<colour>"', body)
    root = body[: body.index(">") + 1]
    if "viewBox" in root:
        return body
    size = {match["name"]: _units(match) for match in SIZE.finditer(root)}
    if set(size) != {"width", "height"}:
        raise ValueError("an svg without a size")
    box = f'<svg viewBox="0 0 {size["width"]} {size["height"]}"'
    rest = SIZE.sub("", root.replace("<svg", "", 1))
    return box + rest + body[len(root) :]


def _units(match: re.Match[str]) -> str:
    """A width or height in SVG user units (1 mm is 96/25.4 of them)."""
    value = float(match["value"]) * (96 / 25.4 if match["unit"] == "mm" else 1)
    return f"{value:.3f}"
