"""Health checks for operations: liveness without I/O, readiness with the parts it needs.

Both are public (load balancers and orchestrators call them without credentials), so they name
parts and their state, never where a part is or which accounts it uses: that is for the
operators' start-up log.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.responses import JSONResponse
from starlette.routing import Route

from resolver.domain.errors import StoreUnavailable
from resolver.web.services import services

if TYPE_CHECKING:
    from starlette.requests import Request


async def healthz(request: Request) -> JSONResponse:
    """Alive: the process answers. No I/O, so a slow Redis never gets a healthy pod killed."""
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> JSONResponse:
    """Ready: not draining, Redis answers and an upstream is configured; 503 says what fails.

    The app does not start without an upstream, so that part is always "configured".
    """
    app = services(request)
    if app.drain.started:  # told to stop: send new work elsewhere
        return JSONResponse({"status": "draining"}, status_code=503)
    checks = {"redis": "ok", "upstream": "configured"}
    failing = []
    try:
        await app.store.ping()
    except StoreUnavailable:
        checks["redis"] = "unreachable"
        failing.append("redis")
    if failing:
        return JSONResponse(
            {"status": "unavailable", "failing": failing, "checks": checks}, status_code=503
        )
    return JSONResponse({"status": "ready", "checks": checks})


routes = [Route("/healthz", healthz, methods=["GET"]), Route("/readyz", readyz, methods=["GET"])]
