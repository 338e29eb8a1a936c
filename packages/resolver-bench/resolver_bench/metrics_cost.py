"""What metrics add to a redemption, in CPU time of the worker (`resolver bench --metrics-cost`).

A whole run against serve cannot show it: a JSON redemption costs the worker a millisecond or
more, and the tens of microseconds metrics add vanish in the noise of a shared machine. So this
runs what metrics add to one redemption, and only that, many times in a fresh process, and
subtracts the same redemption without them:

- the HTTP middleware around the request (its histogram, and reading the request's log
  context, as on /api/ paths);
- the back end's redeem call through the `Provider` that times and counts it;
- the use case's observer being told the outcome.

The redemption itself is a stand-in that binds the log context a real one binds and answers
at once. Each mode (values in memory for one process, or prometheus_client's multiprocess
files as `serve --workers N` uses) runs in its own process, since the library picks where
values live when first imported. Figures are CPU time (`time.process_time`): the lead's wall
clock on a quiet machine is another measurement.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

REDEMPTIONS = 20_000
ROUNDS = 5
# The target the service sets itself: metrics must cost a redemption less than this.
TARGET_MS = 0.05


@dataclass(frozen=True, slots=True)
class Cost:
    """Worker CPU per redemption, without and with metrics, in one storage mode."""

    mode: str
    without_us: float
    with_us: float

    @property
    def added_us(self) -> float:
        return self.with_us - self.without_us


def measure(mode: str, redemptions: int = REDEMPTIONS, rounds: int = ROUNDS) -> Cost:
    """Run the measurement in a fresh process for `mode` ("memory" or "multiprocess")."""
    env = dict(os.environ)
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    with tempfile.TemporaryDirectory(prefix="resolver-metrics-cost-") as directory:
        if mode == "multiprocess":
            env["PROMETHEUS_MULTIPROC_DIR"] = directory
        done = subprocess.run(  # noqa: S603  # this interpreter, this module
            [sys.executable, "-m", __name__, str(redemptions), str(rounds)],
            env=env,
            capture_output=True,
            text=True,
            check=True,
            timeout=600,
        )
    figures = json.loads(done.stdout)
    return Cost(mode, figures["without_us"], figures["with_us"])


def render(costs: list[Cost]) -> str:
    lines = ["metrics: worker CPU per redemption (process CPU time, min of rounds)"]
    for cost in costs:
        verdict = "ok" if cost.added_us / 1000 < TARGET_MS else f"over {TARGET_MS} ms"
        lines.append(
            f"  {cost.mode:<13} without {cost.without_us:7.1f} us   with {cost.with_us:7.1f} us"
            f"   added {cost.added_us:6.1f} us ({cost.added_us / 1000:.4f} ms, {verdict})"
        )
    lines.append("  (CPU time on this machine; re-measure on a quiet one before comparing)")
    return "\n".join(lines)


def _inside(redemptions: int, rounds: int) -> dict[str, float]:
    """In this process: the best round of each variant, in microseconds per redemption."""
    without, with_metrics = _variants()
    best = {"without_us": float("inf"), "with_us": float("inf")}
    for _ in range(rounds):
        for name, app in (("without_us", without), ("with_us", with_metrics)):
            seconds = asyncio.run(_drive(app, redemptions))
            best[name] = min(best[name], seconds / redemptions * 1e6)
    return best


def _variants() -> tuple[Callable[..., Awaitable[None]], Callable[..., Awaitable[None]]]:
    import structlog  # noqa: PLC0415

    from resolver.domain.coupons import Link  # noqa: PLC0415
    from resolver.domain.redemptions import Outcome, RedeemDetails, Redemption  # noqa: PLC0415
    from resolver.observability.metrics import Metrics  # noqa: PLC0415
    from resolver.observability.middleware import MetricsMiddleware  # noqa: PLC0415
    from resolver.observability.upstream import ObservedProvider  # noqa: PLC0415
    from resolver.redemption.observer import UNOBSERVED, Observer  # noqa: PLC0415
    from resolver.redemption.ports import Capabilities, Provider, RedeemAnswer  # noqa: PLC0415

    link = Link("bench", "member-1")
    details = RedeemDetails.of("resolver/bench", None, None)
    result = Redemption(Outcome.REDEEMED, link, coupon_id="c")

    class Backend:
        name = "passkit"
        capabilities = Capabilities()

        async def lookup(self, link: Link) -> None:
            return None

        async def offer(self, offer_id: str) -> None:
            return None

        async def redeem(
            self, link: Link, details: RedeemDetails, *, coupon_id: str | None = None
        ) -> RedeemAnswer:
            return RedeemAnswer("c")

    class Route:
        path = "/api/v1/redeem"

    def endpoint(provider: Provider, observer: Observer) -> Callable[..., Awaitable[None]]:
        async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
            structlog.contextvars.clear_contextvars()
            structlog.contextvars.bind_contextvars(request_id="r" * 32, coupon="k" * 16)
            await provider.redeem(link, details, coupon_id=None)
            observer.redeemed(provider.name, result)
            structlog.contextvars.bind_contextvars(outcome="redeemed", replayed=False)
            scope["route"] = Route
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"{}"})

        return app

    metrics = Metrics()
    backend: Provider = Backend()
    plain = endpoint(backend, UNOBSERVED)
    watched = MetricsMiddleware(endpoint(ObservedProvider(backend, metrics), metrics), metrics)
    return plain, watched


async def _drive(app: Callable[..., Awaitable[None]], redemptions: int) -> float:
    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        return None

    started = time.process_time()
    for _ in range(redemptions):
        scope = {"type": "http", "method": "POST", "path": "/api/v1/redeem", "headers": []}
        await app(scope, receive, send)
    return time.process_time() - started


if __name__ == "__main__":
    print(json.dumps(_inside(int(sys.argv[1]), int(sys.argv[2]))))
