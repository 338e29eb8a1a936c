"""Tells requests that a person did not make: HEAD, prefetch, link previews and mail scanners.

They must never redeem (docs/reliability.md), and they get a neutral page without any upstream
call. User agents are matched against crawlerdetect's patterns, a maintained port of JayBizzle's
Crawler-Detect list (previews such as Slackbot, WhatsApp, facebookexternalhit used by iMessage,
Outlook's and security gateways' scanners), rather than a hand-written handful.

The list is crawlerdetect's; the matching is not. crawlerdetect runs its ~1,500 patterns as one
Python regular expression, and one of them (`[a-z0-9\\-_]*(bot|crawl|…)`) backtracks
quadratically on a long run of letters: 1 KB of them cost 0.2 s, 8 KB 10 s, all of it holding
the event loop. Here the patterns run on RE2 (google-re2), whose automaton takes time linear in
the text whatever the pattern. The few RE2 cannot run (look-arounds) and crawlerdetect's short
exclusion list (browser tokens removed before matching, each a literal followed by a simple
class) stay on Python's `re`, where they are linear too. And only a User-Agent of at most
`MAX_USER_AGENT` characters is matched at all: at that length the costliest agents measured
(long runs of letters, of spaces, of one repeated token) take under 1 ms, a phone's 0.02 ms.
"""

from __future__ import annotations

import re
from functools import cache
from typing import TYPE_CHECKING

import re2
from crawlerdetect.providers.crawlers import data as CRAWLER_PATTERNS
from crawlerdetect.providers.exclusions import data as EXCLUSION_PATTERNS

from resolver.web.params import header

if TYPE_CHECKING:
    from collections.abc import Sequence

    from starlette.requests import Request

# Browsers send 100 to 300 characters; in-app browsers with their extra tokens stay under 600.
# A longer agent is no browser's, so it is treated as automated without being matched: it only
# ever sees the neutral page, and a bot token padded far out cannot slip past.
MAX_USER_AGENT = 1024
# `Sec-Purpose: prefetch;prerender` and its older spellings are a few words long.
MAX_PURPOSE = 64
PURPOSE_HEADERS = ("sec-purpose", "purpose", "x-purpose", "x-moz")


class AgentPatterns:
    """crawlerdetect's lists, compiled so that matching never backtracks on a crawler pattern."""

    def __init__(self, crawlers: Sequence[str], exclusions: Sequence[str]) -> None:
        options = re2.Options()
        options.case_sensitive = False
        options.never_capture = True  # only whether it matches counts
        options.log_errors = False  # a pattern RE2 refuses is expected: see `backtracking`
        linear = [pattern for pattern in crawlers if _runs_on_re2(pattern, options)]
        self.backtracking = tuple(pattern for pattern in crawlers if pattern not in linear)
        self._crawlers = re2.compile("|".join(linear), options)
        self._others = re.compile("|".join(self.backtracking), re.IGNORECASE)
        # google-re2's `sub` loops in Python once per match (8 µs each: 4 ms for 1 KB of
        # "x64"); Python's `re` removes these literal-led tokens in under 1 ms at the bound.
        self._exclusions = re.compile("|".join(exclusions), re.IGNORECASE)

    def is_crawler(self, user_agent: str) -> bool:
        """crawlerdetect's rule: remove the browser tokens, then look for any crawler pattern."""
        agent = self._exclusions.sub("", user_agent)
        if not agent:
            return False
        return bool(
            self._crawlers.search(agent) or (self.backtracking and self._others.search(agent))
        )


def _runs_on_re2(pattern: str, options: re2.Options) -> bool:
    try:
        re2.compile(pattern, options)
    except re2.error:
        return False
    return True


@cache
def agent_patterns() -> AgentPatterns:
    """The compiled lists, built on first use (about 20 ms), never at import."""
    return AgentPatterns(CRAWLER_PATTERNS, EXCLUSION_PATTERNS)


def is_automated_agent(user_agent: str) -> bool:
    """True for a known bot, preview or scanner user agent, for none at all, and for one
    longer than any browser sends."""
    if len(user_agent) > MAX_USER_AGENT:
        return True
    agent = user_agent.strip()
    return not agent or agent_patterns().is_crawler(agent)


def is_prefetch(request: Request) -> bool:
    purpose = " ".join((header(request, name) or "")[:MAX_PURPOSE] for name in PURPOSE_HEADERS)
    purpose = purpose.lower()
    return "prefetch" in purpose or "preview" in purpose


def is_not_a_person(request: Request) -> bool:
    """True when the request must only ever see the neutral page."""
    return (
        request.method == "HEAD"
        or is_prefetch(request)
        or is_automated_agent(header(request, "user-agent") or "")
    )
