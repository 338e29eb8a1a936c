"""`create_app(settings)`: builds the Starlette app; its lifespan owns every resource.

The lifespan reads the staff file (a bad one stops start-up), opens one Redis pool, one httpx
client and one pub/sub subscription per process, hands them to the use case, and closes them on
shutdown. Nothing here runs at import time.
"""

from __future__ import annotations

from contextlib import asynccontextmanager
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
from redis.asyncio import BlockingConnectionPool, Redis
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from resolver import logs, startup
from resolver.domain.errors import ResolverError
from resolver.domain.names import Names
from resolver.draining import Drain, on_stop_signals
from resolver.providers import campaigns
from resolver.providers.accounts import Wiring
from resolver.providers.passkit import PassKit
from resolver.providers.passkit_auth import PassKitJWTAuth, PassKitTokenAuth
from resolver.providers.routing import Router
from resolver.providers.transport import PoolsTransport
from resolver.redemption import Redemptions
from resolver.redemption.policy import Policy, longest_lease
from resolver.settings import SANDBOX_API_KEY, SANDBOX_API_SECRET, Settings, load_settings
from resolver.staff import directory as staff_directory
from resolver.staff.verification import StaffCheck
from resolver.storage.claims import CHANNEL, RedisClaims
from resolver.storage.lockout import Lockout
from resolver.storage.memory import Memory
from resolver.storage.notifier import Notifier
from resolver.storage.ratelimit import MissBudget, coupon_limit, parse_limit
from resolver.storage.redis import client_name, shared_secret
from resolver.storage.token_cache import SharedTokens
from resolver.web import api, errors, openapi, ops, pages
from resolver.web.branding import Brand
from resolver.web.i18n import Catalogues
from resolver.web.middleware import RequestContextMiddleware, content_security_policy
from resolver.web.misses import MissCounter
from resolver.web.rendering import make_templates
from resolver.web.services import Services

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable

STATIC = Path(__file__).resolve().parent / "static"
# Idle upstream connections are kept this long: below the idle timeouts of the load balancers
# in front of APIs (60 s and more), so we close a connection before the other side does.
KEEPALIVE_SECONDS = 30.0


def create_app(
    settings: Settings,
    *,
    upstream_transport: httpx.AsyncBaseTransport | None = None,
    clock: Callable[[], datetime] | None = None,
    drain: Drain | None = None,
) -> Starlette:
    """The resolver as an ASGI app; a test may stand in for the network, the clock and the drain.

    A campaigns file is read here, not in the lifespan, so that a bad one stops start-up at
    once with a message naming the file and the entry (`ConfigurationError`).
    """
    logs.configure(settings.log_level, settings.log_format)
    accounts = campaigns.load(settings.campaigns_file) if settings.campaigns_file else None
    now = clock or (lambda: datetime.now(UTC))
    brand = Brand.from_settings(settings)
    templates = make_templates(brand)
    catalogues = Catalogues()
    drain = drain or Drain()

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[dict[str, Any]]:
        # Read once, before anything opens: a bad staff file stops start-up with its problems.
        directory = (
            staff_directory.load(Path(settings.staff_file), settings.staff_verification)
            if settings.staff_file
            else None
        )
        # Whatever created the app: never without Redis, never real coupons without a secret
        # key, never the sandbox's demo credentials sent to PassKit's real hosts.
        startup.check(settings, embedded=False)
        assert settings.redis_url is not None
        name = client_name()
        redis = connect_redis(settings.redis_url, settings, name=name)
        http = upstream_client(settings, upstream_transport)
        notifier = Notifier(redis, CHANNEL)
        try:
            secret = (
                settings.secret_key.get_secret_value().encode()
                if settings.secret_key
                else await shared_secret(redis)
            )
            store = RedisClaims(redis, notifier)
            memory = Memory(redis, store, name)
            await memory.start()
            notifier.on_reconnect = memory.reconnected
            router = build_router(settings, accounts, Wiring(http, SharedTokens(redis)))
            redemptions = Redemptions(
                router, store, Names(secret), policy(settings, router), clock=now
            )
            misses = MissBudget(redis, parse_limit(settings.rate_limit_misses))
            lockout = Lockout(
                redis,
                secret,
                per_coupon=settings.staff_max_failures,
                per_client=settings.staff_max_failures_per_ip,
                period=settings.staff_lockout_seconds,
            )
            staff = StaffCheck(
                directory,
                lockout,
                default=settings.staff_verification,
                drift=settings.staff_code_drift,
                clock=now,
            )
            services = {
                "services": Services(
                    settings=settings,
                    redemptions=redemptions,
                    store=store,
                    misses=misses,
                    staff=staff,
                    templates=templates,
                    catalogues=catalogues,
                    upstream=describe_upstream(settings, accounts),
                    clock=now,
                    drain=drain,
                )
            }
            with on_stop_signals(drain):
                # Last, so that a subscriber counted in Redis is a worker that has started
                # (what `resolver bench` and the end-to-end tests wait for).
                await notifier.start(wait=settings.redis_timeout)
                yield services
        finally:
            await notifier.stop()
            await http.aclose()
            await redis.aclose()

    return Starlette(
        routes=[
            *pages.routes,
            *api.routes,
            *openapi.routes,
            *ops.routes,
            *brand.routes(),
            Mount("/static", StaticFiles(directory=STATIC), name="static"),
        ],
        middleware=[
            Middleware(startup.OneLineStartupFailure),
            *proxy_middleware(settings),
            Middleware(
                RequestContextMiddleware,
                csp=content_security_policy(brand.img_sources),
                error_response=errors.server_error,
            ),
            Middleware(MissCounter),
        ],
        exception_handlers=errors.handlers,
        lifespan=lifespan,
    )


def app_from_environment() -> Starlette:
    """The container's uvicorn factory: settings from the environment, checked first.

    What `resolver serve` refuses, this refuses in the same line (exit 2), and it never falls
    back to an embedded Redis or the sandbox; what `serve` warns about, it warns about once.
    """
    settings = startup.settings_or_exit()
    try:
        startup.preflight(settings, embedded=False)
        app = create_app(settings)
    except ResolverError as problem:
        startup.refuse(str(problem))
    startup.warn(settings)
    return app


def serve_worker_app() -> Starlette:
    """The factory `resolver serve`'s workers call: their parent has checked and warned."""
    return create_app(load_settings())


def proxy_middleware(settings: Settings) -> list[Middleware]:
    """Believe X-Forwarded-For/-Proto only from the proxies named in RESOLVER_FORWARDED_ALLOW_IPS.

    uvicorn's own middleware decides; it must run first, so that the request id, the logs, the
    rate limits and HSTS all see the real client and scheme.
    """
    if not settings.forwarded_allow_ips:
        return []
    return [Middleware(ProxyHeadersMiddleware, trusted_hosts=list(settings.forwarded_allow_ips))]


def build_router(
    settings: Settings, accounts: campaigns.CampaignsFile | None, wiring: Wiring
) -> Router:
    """Campaign → provider: from the campaigns file; else the one PassKit account of the
    settings, which in sandbox mode is joined by a demo campaign for every simulated back end."""
    if accounts is not None:
        return campaigns.router(accounts, wiring)
    passkit = PassKit(wiring.http, base_url=settings.passkit_url, auth=upstream_auth(settings))
    if settings.upstream == "sandbox":
        from resolver_sandbox.accounts import demo_accounts  # noqa: PLC0415  # sandbox mode only

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


def connect_redis(url: str, settings: Settings, *, name: str | None = None) -> Redis:
    """A pool sized for the process's concurrency, with timeouts (redis-py's defaults are none).

    `name` names every connection (`CLIENT SETNAME`), so that processes can see each other.
    """
    pool = BlockingConnectionPool.from_url(
        url,
        client_name=name,
        max_connections=settings.redis_max_connections,
        timeout=settings.redis_timeout,
        socket_timeout=settings.redis_timeout,
        socket_connect_timeout=settings.redis_timeout,
        health_check_interval=30,
        decode_responses=True,
    )
    return Redis.from_pool(pool)  # the client owns the pool: aclose() closes it


def upstream_client(
    settings: Settings, transport: httpx.AsyncBaseTransport | None = None
) -> httpx.AsyncClient:
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
    return httpx.AsyncClient(
        timeout=timeout,
        # retries= only repeats failed connects, which never reached a back end: always safe.
        transport=transport
        or PoolsTransport(
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
    # Only the sandbox gets here (Settings refuses passkit without credentials).
    return PassKitJWTAuth(SANDBOX_API_KEY, SANDBOX_API_SECRET)


def describe_upstream(settings: Settings, accounts: campaigns.CampaignsFile | None = None) -> str:
    if accounts is not None:
        return accounts.describe()
    if settings.upstream == "sandbox":
        return f"sandbox at {settings.passkit_url}"
    if settings.passkit_base_url:
        return f"passkit at {settings.passkit_base_url}"
    return f"passkit ({settings.passkit_region})"
