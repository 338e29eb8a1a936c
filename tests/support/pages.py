"""Reading the service's pages in tests: the confirm form's fields, HTML5 validity."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import html5lib

if TYPE_CHECKING:
    import httpx


def form_of(page: httpx.Response) -> dict[str, str]:
    """The hidden fields of the confirm form."""
    fields = re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', page.text)
    return dict(fields)


def assert_valid_html5(page: httpx.Response) -> None:
    """The page parses as HTML5 without a single error and has the basics every page needs."""
    parser = html5lib.HTMLParser(strict=True)
    parser.parse(page.text)  # raises on any parse error
    assert re.search(r'<html lang="[a-z]{2}', page.text)
    assert re.search(r"<title>[^<]+</title>", page.text)
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in page.text
