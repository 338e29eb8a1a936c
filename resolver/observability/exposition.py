"""Where the metrics are served: a port of their own, and/or `/metrics` for a token's bearer.

With `resolver serve --workers N`, each worker is a process of its own: they record in
prometheus_client's multiprocess mode, each into memory-mapped files of a directory that the
parent creates empty before any worker starts (`PROMETHEUS_MULTIPROC_DIR`, which the workers
inherit), and the parent serves the sum of every file on `RESOLVER_METRICS_PORT`. A worker that
dies and is replaced leaves its files: its counts stay in the sums, as a counter's must. No
metric is a live gauge, so nothing needs `mark_process_dead`.

The container runs one uvicorn process (no multiprocess directory): it serves its own registry,
on the port from a thread, or on `/metrics`.
"""

from __future__ import annotations

import hmac
import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import structlog

if TYPE_CHECKING:
    from contextlib import ExitStack
    from wsgiref.simple_server import WSGIServer

    from prometheus_client import CollectorRegistry
    from pydantic import SecretStr
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    from resolver.settings import Settings

log = structlog.get_logger("resolver.metrics")
MULTIPROC_DIR = "PROMETHEUS_MULTIPROC_DIR"


def prepare_workers(settings: Settings, stack: ExitStack) -> None:
    """Before `serve` starts its workers: an empty multiprocess directory for them (so that
    any worker's `/metrics` answers the sum too), and the port that serves their sum, both for
    as long as `stack` is open.

    Must run before this process imports prometheus_client: the library picks its way of
    storing values (in memory, or in the directory's files) when first imported.
    """
    if not settings.metrics_enabled:
        return
    given = os.environ.get(MULTIPROC_DIR)
    if given:  # the operator's own directory: emptied of any earlier run's files
        directory = Path(given)
        directory.mkdir(parents=True, exist_ok=True)
        for stale in directory.glob("*.db"):
            stale.unlink()
    else:
        directory = Path(tempfile.mkdtemp(prefix="resolver-metrics-"))
        stack.callback(shutil.rmtree, directory, ignore_errors=True)
        os.environ[MULTIPROC_DIR] = str(directory)
    if settings.metrics_port is not None:
        server = serve_port(settings, served_registry(None))
        stack.callback(server.server_close)
        stack.callback(server.shutdown)


def serve_port(settings: Settings, registry: CollectorRegistry) -> WSGIServer:
    """Serve `registry` on the metrics port, from a daemon thread of this process."""
    from prometheus_client import start_http_server  # noqa: PLC0415  # after the directory is set

    assert settings.metrics_port is not None
    server, _ = start_http_server(settings.metrics_port, settings.metrics_host, registry=registry)
    log.info("metrics_served", host=settings.metrics_host, port=server.server_port)
    return server


def served_registry(own: CollectorRegistry | None) -> CollectorRegistry:
    """What a scrape reads: every worker's files in multiprocess mode, else this process's own."""
    from prometheus_client import CollectorRegistry, multiprocess  # noqa: PLC0415

    if os.environ.get(MULTIPROC_DIR):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]  # unannotated upstream
        return registry
    assert own is not None, "a process of its own serves its own registry"
    return own


def metrics_route(registry: CollectorRegistry, token: SecretStr) -> Route:
    """`GET /metrics` on the main port, answering only `Authorization: Bearer <token>`."""
    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest  # noqa: PLC0415
    from starlette.responses import PlainTextResponse  # noqa: PLC0415
    from starlette.routing import Route  # noqa: PLC0415

    expected = token.get_secret_value().encode()

    async def metrics(request: Request) -> Response:
        scheme, _, offered = request.headers.get("authorization", "").partition(" ")
        matched = hmac.compare_digest(offered.strip().encode(), expected)
        if scheme.lower() != "bearer" or not matched:
            return PlainTextResponse(
                "a valid metrics token is required", 401, {"www-authenticate": "Bearer"}
            )
        return PlainTextResponse(
            generate_latest(registry), headers={"content-type": CONTENT_TYPE_LATEST}
        )

    return Route("/metrics", metrics, methods=["GET"])
