"""Tells requests that a person did not make: HEAD, prefetch, link previews and mail scanners.

They must never redeem (docs/reliability.md), and they get a neutral page without any upstream
call. User agents are matched against crawlerdetect, a maintained port of JayBizzle's
Crawler-Detect list (previews such as Slackbot, WhatsApp, facebookexternalhit used by iMessage,
Outlook's and security gateways' scanners), rather than a hand-written handful.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

from crawlerdetect import CrawlerDetect

if TYPE_CHECKING:
    from starlette.requests import Request

_detector = CrawlerDetect()


@lru_cache(maxsize=4096)
def is_automated_agent(user_agent: str) -> bool:
    """True for a known bot, preview or scanner user agent, and for none at all."""
    if not user_agent.strip():
        return True
    return bool(_detector.is_crawler(user_agent))


def is_prefetch(request: Request) -> bool:
    headers = request.headers
    purpose = " ".join(
        headers.get(name, "") for name in ("sec-purpose", "purpose", "x-purpose", "x-moz")
    ).lower()
    return "prefetch" in purpose or "preview" in purpose


def is_not_a_person(request: Request) -> bool:
    """True when the request must only ever see the neutral page."""
    return (
        request.method == "HEAD"
        or is_prefetch(request)
        or is_automated_agent(request.headers.get("user-agent", ""))
    )
