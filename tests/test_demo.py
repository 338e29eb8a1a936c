"""`resolver serve`'s demo banner: links that work as printed, and how to start over."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

from resolver_sandbox import DEMO

from resolver.cli.demo import banner, demo_webhooks
from resolver.domain.coupons import Link
from resolver.domain.signing import verify
from resolver.settings import Settings

SANDBOX = "http://127.0.0.1:8100"
URL = re.compile(r"http://127\.0\.0\.1:8000/\S+")
KEYS = "k2:a-new-secret-of-16-chars,k1:an-old-secret-of-16-chars"


def make(**values: Any) -> Settings:
    return Settings(_env_file=None, **values)


def printed_links(text: str) -> list[dict[str, str]]:
    """The query of every service URL the banner prints, the JSON API's included."""
    return [
        {name: values[0] for name, values in parse_qs(urlsplit(url.rstrip("'")).query).items()}
        for url in URL.findall(text)
    ]


def test_with_link_keys_every_printed_link_is_signed_with_the_newest_key() -> None:
    """Signed links are required then: the banner's links carry a kid and a valid sig."""
    settings = make(link_keys=KEYS)
    links = printed_links(banner(SANDBOX, settings))
    assert len(links) == 15  # four states, five offer settings, the JSON API, five back ends
    for query in links:
        link = Link(query["campaignId"], query["externalId"])
        assert query["kid"] == "k2"
        assert verify(settings.link_keys, link, query["kid"], query["sig"])


def test_without_link_keys_the_printed_links_are_plain() -> None:
    """No kid, no sig: the demo as it has always been."""
    links = printed_links(banner(SANDBOX, make()))
    assert all({"kid", "sig"}.isdisjoint(query) for query in links)
    assert {(query["campaignId"], query["externalId"]) for query in links} >= {
        (DEMO.campaign_id, DEMO.unredeemed),
        (DEMO.campaign_id, DEMO.unknown),
    }


def test_with_the_demos_own_redis_the_reset_starts_everything_over() -> None:
    """The sandbox's reset also empties the private Redis, and the banner says so."""
    text = banner(SANDBOX, make())
    assert f"curl -X POST {SANDBOX}/_sandbox/reset" in text
    assert "FLUSHDB" not in text


def test_with_a_configured_redis_the_banner_says_how_to_forget() -> None:
    """A Redis the user chose is never flushed for them: FLUSHDB is theirs to run."""
    text = banner(SANDBOX, make(redis_url="redis://:pw@demo-redis:6379/0"))
    assert "FLUSHDB" in text
    assert "demo-redis:6379" in text
    assert ":pw@" not in text


def test_the_demo_sends_every_event_signed_to_the_sandboxs_receiver() -> None:
    """`serve` alone configures one endpoint, the sandbox's receiver, and says where to look."""
    settings = make(webhooks=demo_webhooks(SANDBOX))
    (endpoint,) = settings.webhooks
    assert endpoint.url == f"{SANDBOX}/hooks/sandbox"
    assert endpoint.events == ("*",)
    assert f"curl {SANDBOX}/_sandbox/hooks" in banner(SANDBOX, make())
    assert "_sandbox/hooks" not in banner(SANDBOX, settings)  # the user's own endpoints
