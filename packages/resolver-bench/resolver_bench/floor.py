"""The bench's row "the floor": what the same redemptions cost with none of the service's work.

    Redis (embedded) ─┐
    resolver sandbox ─┴─ floor app, uvicorn --workers N ◄── load generator

The floor app (`resolver_bench.floor_app`) does a JSON redemption's input and output through
the service's own clients and nothing else: two scripts, one redeem call, a JSON answer. It
runs as the service does (uvicorn, the same number of workers, uvloop and httptools), is
warmed up, then sent the run's redemptions over the same connections, each to a coupon of its
own. The row gives its rate and its workers' CPU per redemption: the service's worker CPU
minus this is the service's own work (validation, claim, receipt, log line, middleware), the
part its code sets; the rest is the stack's.
"""

from __future__ import annotations

import contextlib
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import redis
from resolver_sandbox.embedded import EmbeddedRedis

from resolver_bench import processes
from resolver_bench.cpu import CpuClock, workers_of
from resolver_bench.runner import (
    ADMIN_TIMEOUT_S,
    command_counts,
    make_coupons,
    pick_generator,
    redemptions,
    settings,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from resolver_bench.load import Load, Measured
    from resolver_bench.runner import Options

LABEL = "floor"


@dataclass(frozen=True, slots=True)
class FloorFigures:
    """The row's figures."""

    measured: Measured
    worker_cpu_ms: float  # per redemption
    round_trips: float  # EVALSHA per redemption: the scripts, each a round trip
    max_redeem_calls: int


def run_floor(options: Options, say: Callable[[str], None]) -> FloorFigures:
    """Start Redis, the sandbox and the floor app; warm up; measure; stop everything."""
    generator = pick_generator(options.generator)
    with contextlib.ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="resolver-bench-")))
        say(f"{LABEL}: starting Redis, the sandbox and the floor app ({options.workers} workers)")
        redis_url = options.redis_url or stack.enter_context(EmbeddedRedis()).url
        sandbox = stack.enter_context(processes.sandbox(workdir, latency_ms=options.latency_ms))
        admin = stack.enter_context(httpx.Client(base_url=sandbox.url, timeout=ADMIN_TIMEOUT_S))
        app = stack.enter_context(floor_app(workdir, sandbox.url, redis_url, options.workers))
        make_coupons(admin, "fw-", options.warmup)
        make_coupons(admin, "fr-", options.requests)
        if options.warmup:
            say(f"{LABEL}: warming up")
            generator.run(floor_redemptions(app.url, "fw-", options.warmup, options.concurrency))
        say(f"{LABEL}: measuring {options.requests} redemptions")
        counter = stack.enter_context(redis.Redis.from_url(redis_url))
        clock = CpuClock({"workers": workers_of(app.pid, options.workers)})
        before = command_counts(counter).get("evalsha", 0)
        clock.start()
        measured = generator.run(
            floor_redemptions(app.url, "fr-", options.requests, options.concurrency)
        )
        cpu_seconds = clock.stop()
        scripts = command_counts(counter).get("evalsha", 0) - before
        tallies = admin.get("/_sandbox/stats").json()["coupons"].values()
    completed = max(measured.completed, 1)
    return FloorFigures(
        measured=measured,
        worker_cpu_ms=cpu_seconds["workers"] * 1000 / completed,
        round_trips=scripts / completed,
        max_redeem_calls=max((tally["count"] for tally in tallies), default=0),
    )


def floor_app(workdir: Path, sandbox_url: str, redis_url: str, workers: int) -> processes.Child:
    """The floor app under uvicorn, as `resolver serve` runs the service (not started)."""
    port = processes.free_port()
    args = [
        "resolver_bench.floor_app:app", "--factory", "--host", processes.HOST,
        "--port", str(port), "--workers", str(workers), "--log-level", "warning",
        "--no-access-log",
    ]  # fmt: skip
    return processes.Child(
        "floor", args, port=port, settings=settings(sandbox_url, redis_url), workdir=workdir,
        ready_path="/ready", module="uvicorn",
    )  # fmt: skip


def floor_redemptions(url: str, prefix: str, count: int, connections: int) -> Load:
    """The bench's redemptions (the body a till would send), to `POST /floor` instead."""
    return replace(redemptions(url, prefix, count, connections), path="/floor")


def render_row(figures: FloorFigures) -> str:
    """The row, in the report's layout."""
    measured = figures.measured
    return (
        f"  {LABEL:<13}  {figures.worker_cpu_ms:.2f} ms of worker CPU per redemption,"
        f" {measured.rate:,.0f}/s ({measured.completed} in {measured.seconds:.2f} s,"
        f" {measured.failed} failed, {figures.round_trips:.2f} Redis round trips each): the"
        " same scripts and redeem call in a bare endpoint; the service's worker cpu above this"
        " is its own work"
    )


def problems(figures: FloorFigures) -> list[str]:
    """Why the row does not count; empty when it does."""
    found = []
    if figures.max_redeem_calls != 1:
        found.append(f"{LABEL}: a coupon got {figures.max_redeem_calls} redeem calls")
    if figures.measured.failed:
        found.append(f"{LABEL}: {figures.measured.failed} requests failed or were refused")
    return found
