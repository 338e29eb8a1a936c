"""Real scanner and preview user agents never redeem, in confirm mode or instant mode."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from redis.asyncio import Redis

from resolver.app import create_app
from resolver.settings import Settings
from tests.conftest import running
from tests.support.passkit import PassKitDouble

LINK = {"externalId": "member-1", "campaignId": "camp-1"}

# Recorded from the wild: chat unfurlers, mail security gateways and link checkers.
SCANNERS = [
    "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
    "Slack-ImgProxy (+https://api.slack.com/robots)",
    "WhatsApp/2.24.6.77 A",
    "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
    "facebookexternalhit/1.1 Facebot Twitterbot/1.0",  # iMessage link previews
    "TelegramBot (like TwitterBot)",
    "Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)",
    "LinkedInBot/1.0 (compatible; Mozilla/5.0; Apache-HttpClient +http://www.linkedin.com)",
    "Mozilla/5.0 (Windows NT 6.1; WOW64) SkypeUriPreview Preview/0.5",
    "Mozilla/5.0 (compatible; MSIE 9.0; Windows NT 6.1; Trident/5.0) BingPreview/1.0b",
    "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17231; Pro)",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36 Google-Read-Aloud",
    "Mozilla/5.0 (compatible; Google-Safety; +http://www.google.com/bot.html)",
    "Mozilla/5.0 (compatible; Embedly/0.2; +http://support.embed.ly/)",
]


@pytest.mark.parametrize("mode", ["confirm", "instant"])
async def test_scanners_heads_and_prefetches_cause_no_redeem_in_either_mode(
    make_settings: Callable[..., Settings], passkit: PassKitDouble, redis: Redis, mode: str
) -> None:
    """A dozen real scanner agents, HEAD and prefetch headers: zero upstream redeem calls."""
    passkit.add("member-1")
    async with running(create_app(make_settings(redeem_mode=mode))) as client:
        for agent in SCANNERS:
            page = await client.get("/redeem", params=LINK, headers={"user-agent": agent})
            assert page.status_code == 200, agent
            api = await client.get("/api/v1/redeem", params=LINK, headers={"user-agent": agent})
            assert api.status_code == 405, agent
        await client.head("/redeem", params=LINK)
        await client.head("/api/v1/redeem", params=LINK)
        for headers in ({"sec-purpose": "prefetch"}, {"purpose": "prefetch"}):
            await client.get("/redeem", params=LINK, headers=headers)
            await client.get("/api/v1/redeem", params=LINK, headers=headers)
    assert passkit.redeem_calls == 0
    assert passkit.coupon("member-1")["status"] == "UNREDEEMED"
