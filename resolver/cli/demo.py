"""`resolver serve`'s local demo: what it starts beside the service when nothing is configured.

A private Redis when `RESOLVER_REDIS_URL` is unset, the sandbox when no back end is configured,
a secret key when none is set, and a banner with links to try. `start` answers with the
settings that name them, for `serve` to hand to its workers. Real coupons never get here:
start-up refuses them an embedded Redis or a made-up secret (`resolver.startup`).
"""

from __future__ import annotations

import importlib
import json
import secrets
from functools import partial
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from redis import Redis

from resolver.cli.console import display_host, say
from resolver.domain.coupons import Link
from resolver.domain.signing import sign
from resolver.startup import redis_address, refuse
from resolver.storage.claims import MEMORY

if TYPE_CHECKING:
    from collections.abc import Callable
    from contextlib import ExitStack
    from types import ModuleType

    from resolver.settings import Settings


def start(settings: Settings, stack: ExitStack) -> dict[str, str]:
    """Start what `settings` leave out, for as long as `stack` is open, and say so; answer
    the variables that point the service at them."""
    provided: dict[str, str] = {}
    forget: Callable[[], None] | None = None
    if settings.redis_url is None:
        embedded = _sandbox_part("embedded")
        redis = stack.enter_context(embedded.EmbeddedRedis())
        provided["RESOLVER_REDIS_URL"] = redis.url
        # Private to this demo: a sandbox reset may empty it. A Redis the user configured is
        # never touched.
        forget = partial(flush, redis.url)
        say(
            f"Redis: embedded at {redis.url} (private, in memory, for local use only; "
            "set RESOLVER_REDIS_URL in production)"
        )
    if settings.secret_key is None:
        # One secret for every worker: each names a coupon's Redis keys with it.
        provided["RESOLVER_SECRET_KEY"] = secrets.token_hex(32)
    if settings.upstream == "sandbox" and settings.passkit_base_url is None:
        server = _sandbox_part("server")
        sandbox_server = server.start_in_thread("127.0.0.1", 0, on_reset=forget)
        stack.callback(sandbox_server.stop)
        provided["RESOLVER_PASSKIT_BASE_URL"] = sandbox_server.url
        provided["RESOLVER_UPSTREAM"] = "sandbox"
        if not settings.webhooks and settings.audit_retention_days:
            provided["RESOLVER_WEBHOOKS"] = demo_webhooks(sandbox_server.url)
        say(banner(sandbox_server.url, settings))
    return provided


def _sandbox_part(name: str) -> ModuleType:
    """A module of the repository's sandbox package, which only the demo imports."""
    try:
        return importlib.import_module(f"resolver_sandbox.{name}")
    except ModuleNotFoundError:
        refuse(
            "nothing is configured, and the demo's sandbox is not installed (it comes with the "
            "repository's dev dependencies: uv sync); set RESOLVER_REDIS_URL and a back end"
        )


def demo_webhooks(url: str) -> str:
    """Every event, signed with the sandbox's well-known secret, to the sandbox's receiver."""
    receiver = _sandbox_part("receiver")
    endpoint = {"name": "sandbox", "url": f"{url}/hooks/sandbox"}
    return json.dumps([endpoint | {"secret": receiver.DEMO_WEBHOOK_SECRET}])


def flush(url: str) -> None:
    """Empty the demo's private Redis: every claim, result and receipt the resolver kept.

    The reset is deliberate and nothing is in flight in a demo, so Redis is marked as
    remembering everything from now on: the next tap redeems at once instead of waiting out
    the leases that follow a loss of memory.
    """
    with Redis.from_url(url) as client:
        client.flushdb()
        client.set(MEMORY, 0)


def banner(url: str, settings: Settings) -> str:
    """What the demo is, and links to try: the member's flow, the API, every back end."""
    from resolver_sandbox import DEMO  # noqa: PLC0415

    base = f"http://{display_host(settings.host)}:{settings.port}"

    def query(campaign_id: str, external_id: str) -> str:
        # With RESOLVER_LINK_KEYS set an unsigned link is answered like an unknown coupon.
        link = {"externalId": external_id, "campaignId": campaign_id}
        if settings.link_keys:
            link |= sign(settings.link_keys[0], Link(campaign_id, external_id))
        return urlencode(link)

    rule = "=" * 72
    lines = [
        rule,
        "SANDBOX MODE: no PassKit credentials are set, so this talks to a built-in",
        f"simulator of PassKit at {url}. No real coupons are touched.",
        "Set RESOLVER_PASSKIT_API_KEY and RESOLVER_PASSKIT_API_SECRET to use PassKit.",
        "",
        "Try the member's flow (open in a browser):",
    ]
    if settings.link_keys:
        lines[-1] = (
            f"Try the member's flow (open in a browser; signed with key {settings.link_keys[0].kid}"
            " of RESOLVER_LINK_KEYS, as every link must be):"
        )
    for label, external_id in (
        ("unredeemed  ", DEMO.unredeemed),
        ("redeemed    ", DEMO.redeemed),
        ("expired     ", DEMO.expired),
        ("no coupon   ", DEMO.unknown),
    ):
        lines.append(f"  {label}{base}/redeem?{query(DEMO.campaign_id, external_id)}")
    lines += offer_lines(base, query)
    lines += [
        "",
        "Or the JSON API:",
        f"  curl -X POST '{base}/api/v1/redeem?{query(DEMO.campaign_id, DEMO.unredeemed)}'",
        *reset_lines(url, settings),
        "",
        *events_lines(url, settings),
        "Every other simulated back end serves the same coupons in its own demo campaign:",
    ]
    for backend, campaign in DEMO.other_campaigns.items():
        lines.append(f"  {backend:<12}{base}/redeem?{query(campaign, DEMO.unredeemed)}")
    lines += [
        "(their APIs are simulated under /passworks, /skycore, /walletobjects, /generic)",
        rule,
    ]
    return "\n".join(lines)


def offer_lines(base: str, query: Callable[[str, str], str]) -> list[str]:
    """Links to the demo offers that show an offer's own settings on the screens."""
    from resolver_sandbox import DEMO, OFFERS  # noqa: PLC0415

    lines = ["", "The offer's own settings, as PassKit's hosted page would honour them:"]
    for label, external_id in (
        ("fixed code + countdown  ", OFFERS.fixed_code),
        (f"cashier code {OFFERS.valid_cashier_code}       ", OFFERS.cashier_code),
        ("merchant texts (en, fr) ", OFFERS.merchant_texts),
        ("offer switched off      ", OFFERS.paused),
        ("30-day offer, day 31    ", OFFERS.after_days),
    ):
        lines.append(f"  {label}{base}/redeem?{query(DEMO.campaign_id, external_id)}")
    lines.append("  (in French: add &lang=fr to the merchant texts' link)")
    return lines


def events_lines(url: str, settings: Settings) -> list[str]:
    """Where the demo's signed events arrive (unless the user configured endpoints)."""
    if settings.webhooks or not settings.audit_retention_days:
        return []
    return [
        "Each redemption sends a signed event (Standard Webhooks) to the sandbox's receiver,",
        f"which verifies it: curl {url}/_sandbox/hooks",
        "",
    ]


def reset_lines(url: str, settings: Settings) -> list[str]:
    """How to start the demo over: the sandbox's reset, and what the resolver remembers."""
    reset = f"curl -X POST {url}/_sandbox/reset"
    if settings.redis_url is None:
        return [f"Start over (the sandbox's coupons and what the resolver remembers): {reset}"]
    return [
        f"Reset the sandbox's coupons: {reset}",
        f"The resolver remembers them in your Redis at {redis_address(settings.redis_url)};",
        "to forget them too, FLUSHDB it (only if it is a Redis for demos: it empties it all).",
    ]
