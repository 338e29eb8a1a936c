"""The back ends a process serves and how it reaches them: the router of campaigns to
providers, the one upstream client they share, PassKit's credentials, and the use case's
policy, whose leases follow from the back ends' capabilities. Built by the app's wiring and
by the commands that talk to the back ends without an app (`check`, `probe`, `coupon`).
"""

from __future__ import annotations

from importlib.metadata import version
from typing import TYPE_CHECKING

import httpx

from resolver.providers import campaigns
from resolver.providers.exchange import UpstreamClient
from resolver.providers.http1 import Http1Transport
from resolver.providers.passkit import PassKit
from resolver.providers.passkit_auth import PassKitJWTAuth, PassKitTokenAuth
from resolver.providers.routing import Router
from resolver.redemption.policy import Policy, longest_lease
from resolver.storage.ratelimit import coupon_limit

if TYPE_CHECKING:
    from resolver.providers.accounts import Wiring
    from resolver.settings import Settings

# Idle upstream connections are kept this long: below the idle timeouts of the load balancers
# in front of APIs (60 s and more), so we close a connection before the other side does.
KEEPALIVE_SECONDS = 30.0


def build_router(
    settings: Settings, accounts: campaigns.CampaignsFile | None, wiring: Wiring
) -> Router:
    """Campaign → provider: from the campaigns file; else the one PassKit account of the
    settings, which in sandbox mode is joined by a demo campaign for every simulated back end."""
    if accounts is not None:
        return campaigns.router(accounts, wiring)
    passkit = PassKit(wiring.http, base_url=settings.passkit_url, auth=upstream_auth(settings))
    if settings.upstream == "sandbox":
        # The demo: the repository's sandbox package, imported only in sandbox mode.
        from resolver_sandbox.accounts import demo_accounts  # noqa: PLC0415

        return campaigns.router(demo_accounts(settings.passkit_url), wiring, default=passkit)
    return Router(passkit)


def policy(settings: Settings, router: Router) -> Policy:
    back_ends = [provider.capabilities for provider in router.providers]
    return Policy(
        duplicate_window=settings.duplicate_window,
        negative_window=settings.negative_window,
        coalesce_wait=settings.coalesce_wait,
        exchange=settings.exchange_seconds,
        form_token_ttl=settings.form_token_ttl,
        receipt_ttl=settings.receipt_ttl,
        offer_cache_ttl=settings.offer_cache_ttl,
        source=f"resolver/{version('resolver')}",
        coupon_limit=coupon_limit(settings.rate_limit_coupon),
        longest_lease=longest_lease(settings.exchange_seconds, back_ends),
    )


def upstream_client(
    settings: Settings, transport: httpx.AsyncBaseTransport | None = None
) -> UpstreamClient:
    """One client for the process's lifetime, with explicit timeouts and pool limits.

    Every provider shares it and brings its own base URL and credentials: the client carries
    none, so no back end can ever be sent another back end's credentials.
    """
    timeout = httpx.Timeout(
        connect=settings.upstream_connect_timeout,
        read=settings.upstream_timeout,
        write=settings.upstream_timeout,
        pool=settings.upstream_connect_timeout,
    )
    return UpstreamClient(
        timeout=timeout,
        # retries= only repeats failed connects, which never reached a back end: always safe.
        transport=transport
        or Http1Transport(
            settings.upstream_max_connections, retries=2, keepalive_expiry=KEEPALIVE_SECONDS
        ),
        headers={"user-agent": f"resolver/{version('resolver')}"},
    )


def upstream_auth(settings: Settings) -> httpx.Auth:
    if settings.passkit_api_key and settings.passkit_api_secret:
        return PassKitJWTAuth(
            settings.passkit_api_key, settings.passkit_api_secret.get_secret_value()
        )
    if settings.passkit_token:
        return PassKitTokenAuth(settings.passkit_token.get_secret_value())
    # Only the sandbox gets here (Settings refuses passkit without credentials): its
    # well-known demo credentials, which open nothing real.
    from resolver_sandbox.auth import DEFAULT_API_KEY, DEFAULT_API_SECRET  # noqa: PLC0415

    return PassKitJWTAuth(DEFAULT_API_KEY, DEFAULT_API_SECRET)


def describe_upstream(settings: Settings, accounts: campaigns.CampaignsFile | None = None) -> str:
    if accounts is not None:
        return accounts.describe()
    if settings.upstream == "sandbox":
        return f"sandbox at {settings.passkit_url}"
    if settings.passkit_base_url:
        return f"passkit at {settings.passkit_base_url}"
    return f"passkit ({settings.passkit_region})"
