"""`create_app(settings)`: builds the Starlette app; its lifespan owns every resource.

The routes and the middleware are here; what the lifespan opens and hands to the endpoints is
in `resolver.wiring`. Nothing here runs at import time.
"""

from __future__ import annotations

from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import babel.core
import babel.localedata
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from resolver import logs, startup, wiring
from resolver.domain.errors import ResolverError
from resolver.draining import Drain
from resolver.observability import exposition
from resolver.observability.metrics import Metrics
from resolver.observability.middleware import MetricsMiddleware
from resolver.providers import campaigns
from resolver.settings import Settings, load_settings
from resolver.web import api, counter, errors, openapi, ops, pages
from resolver.web.backpressure import InFlightLimit
from resolver.web.branding import Brand
from resolver.web.i18n import LANGUAGES, Catalogues
from resolver.web.middleware import RequestContextMiddleware, content_security_policy
from resolver.web.misses import MissCounter
from resolver.web.rendering import make_templates
from resolver.web.scanners import agent_patterns

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable

    import httpx
    from starlette.routing import BaseRoute

STATIC = Path(__file__).resolve().parent / "static"


def create_app(
    settings: Settings,
    *,
    upstream_transport: httpx.AsyncBaseTransport | None = None,
    clock: Callable[[], datetime] | None = None,
    drain: Drain | None = None,
    warm: bool = False,
) -> Starlette:
    """The resolver as an ASGI app; a test may stand in for the network, the clock and the drain.

    A campaigns file is read here, not in the lifespan, so that a bad one stops start-up at
    once with a message naming the file and the entry (`ConfigurationError`). `warm`: a worker
    about to serve does its first-use work now (about 0.1 s: the pages compiled, the crawler
    lists built, Babel's data read), so that its first members do not wait for it.
    """
    logs.configure(settings.log_level, settings.log_format)
    accounts = campaigns.load(settings.campaigns_file) if settings.campaigns_file else None
    now = clock or (lambda: datetime.now(UTC))
    brand = Brand.from_settings(settings)
    templates = make_templates(brand, compiled=warm)
    if warm:
        _first_use_work()
    catalogues = Catalogues()
    drain = drain or Drain()
    metrics = Metrics() if settings.metrics_enabled else None

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[dict[str, Any]]:
        async with wiring.resources(
            settings,
            accounts=accounts,
            transport=upstream_transport,
            clock=now,
            drain=drain,
            templates=templates,
            catalogues=catalogues,
            metrics=metrics,
        ) as services:
            yield {"services": services}

    app = Starlette(
        routes=[
            *metrics_routes(settings, metrics),
            *pages.routes,
            *api.routes,
            *openapi.routes,
            *ops.routes,
            *counter.routes,
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
            Middleware(InFlightLimit, limit=settings.max_in_flight, refuse=errors.overloaded),
            Middleware(MissCounter),
        ],
        exception_handlers=errors.handlers,
        lifespan=lifespan,
    )
    if metrics is not None:
        # Outermost: the duration and the status are what the client saw.
        app.add_middleware(MetricsMiddleware, metrics=metrics)
    app.state.metrics = metrics
    return app


def _first_use_work() -> None:
    """What a worker's first pages would otherwise do: build the crawler lists (about 30 ms),
    read Babel's global data and each language's (about 20 ms)."""
    agent_patterns()
    babel.core.get_global("likely_subtags")  # reads all of Babel's global data
    for code in LANGUAGES:
        babel.localedata.load(code)


def app_from_environment() -> Starlette:
    """The container's uvicorn factory: settings from the environment, checked first.

    What `resolver serve` refuses, this refuses in the same line (exit 2), and it never falls
    back to an embedded Redis or the sandbox; what `serve` warns about, it warns about once.
    """
    settings = startup.settings_or_exit()
    try:
        startup.preflight(settings, embedded=False)
        app = create_app(settings, warm=True)
    except ResolverError as problem:
        startup.refuse(str(problem))
    startup.warn(settings)
    if settings.metrics_port is not None:  # one process: it serves its own metrics
        exposition.serve_port(settings, exposition.served_registry(app.state.metrics.registry))
    return app


def serve_worker_app() -> Starlette:
    """The factory `resolver serve`'s workers call: their parent has checked and warned."""
    return create_app(load_settings(), warm=True)


def metrics_routes(settings: Settings, metrics: Metrics | None) -> list[BaseRoute]:
    """`/metrics` on the main port, only when a token guards it."""
    if metrics is None or settings.metrics_token is None:
        return []
    registry = exposition.served_registry(metrics.registry)
    return [exposition.metrics_route(registry, settings.metrics_token)]


def proxy_middleware(settings: Settings) -> list[Middleware]:
    """Believe X-Forwarded-For/-Proto only from the proxies named in RESOLVER_FORWARDED_ALLOW_IPS.

    uvicorn's own middleware decides; it must run first, so that the request id, the logs, the
    rate limits and HSTS all see the real client and scheme.
    """
    if not settings.forwarded_allow_ips:
        return []
    return [Middleware(ProxyHeadersMiddleware, trusted_hosts=list(settings.forwarded_allow_ips))]
