"""Who is not a person: HEAD, prefetch, previews and scanners."""

from __future__ import annotations

import string

import pytest
from crawlerdetect import CrawlerDetect
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.requests import Request

from resolver.web.scanners import (
    MAX_USER_AGENT,
    agent_patterns,
    is_automated_agent,
    is_not_a_person,
)
from tests.conftest import BROWSER


def request(method: str = "GET", **headers: str) -> Request:
    raw = [(name.replace("_", "-").encode(), value.encode()) for name, value in headers.items()]
    return Request({"type": "http", "method": method, "headers": raw, "path": "/"})


@pytest.mark.parametrize(
    "agent",
    [
        "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
        "WhatsApp/2.23.20.0",
        "TelegramBot (like TwitterBot)",
        "Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)",
        "facebookexternalhit/1.1 Facebot Twitterbot/1.0",
        "LinkedInBot/1.0 (compatible; Mozilla/5.0; Apache-HttpClient +http://www.linkedin.com)",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/120.0.0.0 Safari/537.36 Edg/120.0.0.0 BingPreview/1.0b",
        "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17126; Pro)",
        "Mozilla/5.0 (compatible; Google-Read-Aloud; +https://support.google.com/webmasters)",
        "",
    ],
)
def test_previews_and_scanners_are_recognised(agent: str) -> None:
    """A maintained list covers chat unfurlers and mail scanners."""
    assert is_automated_agent(agent)


@pytest.mark.parametrize(
    "agent",
    [
        BROWSER,
        "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/124.0.0.0 Mobile Safari/537.36",
    ],
)
def test_phone_browsers_are_people(agent: str) -> None:
    """Members' phones are not mistaken for bots."""
    assert not is_automated_agent(agent)


def test_head_and_prefetch_are_not_people() -> None:
    """HEAD and Sec-Purpose/Purpose prefetch never count as a person's tap."""
    assert is_not_a_person(request("HEAD", user_agent=BROWSER))
    assert is_not_a_person(request(user_agent=BROWSER, sec_purpose="prefetch;prerender"))
    assert is_not_a_person(request(user_agent=BROWSER, purpose="prefetch"))
    assert not is_not_a_person(request(user_agent=BROWSER))


def test_a_bot_token_late_in_a_long_agent_is_recognised() -> None:
    """A scanner's token after many browser-like ones, just within the bound, still counts."""
    padding = " ".join(f"Ext{n}/1.0" for n in range(200))
    agent = f"{BROWSER} {padding}"[: MAX_USER_AGENT - 30] + " Googlebot/2.1"
    assert len(agent) <= MAX_USER_AGENT
    assert is_automated_agent(agent)
    assert not is_automated_agent(agent.removesuffix(" Googlebot/2.1"))


def test_an_agent_longer_than_any_browsers_is_not_a_person() -> None:
    """Past the bound an agent is not matched at all: it only ever sees the neutral page."""
    assert not is_automated_agent(BROWSER.ljust(MAX_USER_AGENT))
    assert is_automated_agent(BROWSER.ljust(MAX_USER_AGENT + 1, "a"))


AGENT_WORDS = st.sampled_from(
    [
        "Mozilla/5.0",
        "(compatible;",
        "Googlebot/2.1;",
        "bot",
        "cubot",
        "Yandex",
        "YandexSearch",
        "CPU iPhone OS 17_5 like Mac OS X",
        "Safari/537.36",
        "Build/UQ1A",
        "okhttp/4.12",
        "python-requests/2.32",
        "Slackbot",
        "headless",
        "Microsoft Outlook 16.0",
    ]
)


@given(words=st.lists(st.one_of(AGENT_WORDS, st.text(string.printable, max_size=12)), max_size=8))
@settings(max_examples=300, deadline=None)
def test_matching_agrees_with_crawlerdetect(words: list[str]) -> None:
    """The linear-time matcher says what crawlerdetect itself says of any plausible agent."""
    agent = " ".join(words).strip()
    assert is_automated_agent(agent) == (not agent or CrawlerDetect().is_crawler(agent))


def test_only_lookaround_patterns_are_left_to_backtracking_regexes() -> None:
    """A crawlerdetect update adding a pattern RE2 cannot run fails here, to be checked first."""
    assert agent_patterns().backtracking == ("Yandex(?!Search)",)
