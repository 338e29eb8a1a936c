"""The bench's row "3 replicas on one Redis Cluster": correctness and overhead, not scale.

    Redis Cluster (3 masters) ─┬─ resolver serve #1 ◄── load generator (a third of the load)
    resolver sandbox ──────────┼─ resolver serve #2 ◄── load generator (a third)
                               └─ resolver serve #3 ◄── load generator (a third)

Three `resolver serve` processes (one worker each), as three replicas behind a balancer would
be, share a 3-master Redis Cluster started on loopback; each is sent a third of the JSON
redemptions at once, each redemption to a coupon of its own. The row gives the total rate, the
worst replica's latency, the CPU per redemption of the replicas and of the Cluster's nodes, and
the most redeem calls any coupon got. On one small machine every part shares the same cores:
it shows that the Cluster's client, scripts and sharded wake-ups work and what they cost, not
how far replicas scale.
"""

from __future__ import annotations

import contextlib
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import psutil
from resolver_sandbox.redis_topologies import RedisClusterNodes, redis7

from resolver_bench import processes
from resolver_bench.cpu import CpuClock
from resolver_bench.runner import (
    ADMIN_TIMEOUT_S,
    make_coupons,
    pick_generator,
    redemptions,
    settings,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from resolver_bench.load import Measured
    from resolver_bench.runner import Options

REPLICAS = 3
LABEL = f"{REPLICAS} replicas on one Redis Cluster"


@dataclass(frozen=True, slots=True)
class ReplicaFigures:
    """The row's figures."""

    completed: int
    failed: int
    seconds: float
    p50: float  # the worst replica's, ms
    p99: float
    cpu_ms: dict[str, float]  # per redemption: replicas, cluster, generator
    max_redeem_calls: int

    @property
    def rate(self) -> float:
        return self.completed / self.seconds if self.seconds > 0 else 0.0


def run_replicas(options: Options, say: Callable[[str], None]) -> ReplicaFigures:
    """Start the Cluster, the sandbox and the replicas; measure; stop everything."""
    binary, why_not = redis7()
    if why_not:
        raise RuntimeError(f"{LABEL}: {why_not}")
    generator = pick_generator(options.generator)
    share = max(options.requests // REPLICAS, 1)
    with contextlib.ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="resolver-bench-")))
        say(f"{LABEL}: starting the Cluster, the sandbox and {REPLICAS} replicas")
        cluster = stack.enter_context(RedisClusterNodes(binary, workdir / "cluster"))
        sandbox = stack.enter_context(processes.sandbox(workdir, latency_ms=options.latency_ms))
        admin = stack.enter_context(httpx.Client(base_url=sandbox.url, timeout=ADMIN_TIMEOUT_S))
        replicas = []
        for number in range(REPLICAS):
            folder = workdir / f"replica-{number}"
            folder.mkdir()
            serve = processes.serve(folder, settings(sandbox.url, cluster.url), workers=1)
            replicas.append(stack.enter_context(serve))
        processes.wait_for_workers(cluster.url, REPLICAS)
        for number in range(REPLICAS):
            make_coupons(admin, f"cw{number}-", options.warmup // REPLICAS)
            make_coupons(admin, f"cr{number}-", share)
        connections = max(options.concurrency // REPLICAS, 1)

        def drive(prefix: str, count: int) -> list[Measured]:
            with ThreadPoolExecutor(REPLICAS) as pool:
                runs = [
                    pool.submit(
                        generator.run,
                        redemptions(replica.url, f"{prefix}{number}-", count, connections),
                    )
                    for number, replica in enumerate(replicas)
                ]
                return [run.result() for run in runs]

        if options.warmup >= REPLICAS:
            say(f"{LABEL}: warming up")
            drive("cw", options.warmup // REPLICAS)
        say(f"{LABEL}: measuring {share * REPLICAS} redemptions")
        clock = CpuClock(
            {
                "replicas": [psutil.Process(replica.pid) for replica in replicas],
                "cluster": [psutil.Process(node.pid) for node in cluster.nodes],
            }
        )
        clock.start()
        measured = drive("cr", share)
        cpu_seconds = clock.stop()
        tallies = admin.get("/_sandbox/stats").json()["coupons"].values()
    completed = sum(run.completed for run in measured)
    return ReplicaFigures(
        completed=completed,
        failed=sum(run.failed for run in measured),
        seconds=max(run.seconds for run in measured),
        p50=max(run.p50 for run in measured),
        p99=max(run.p99 for run in measured),
        cpu_ms={part: s * 1000 / max(completed, 1) for part, s in cpu_seconds.items()},
        max_redeem_calls=max((tally["count"] for tally in tallies), default=0),
    )


def render_row(figures: ReplicaFigures) -> str:
    """The row, in the report's layout."""
    cpu = " · ".join(f"{part} {ms:.2f} ms" for part, ms in figures.cpu_ms.items())
    return (
        f"  {LABEL}: {figures.rate:,.0f} redemptions/s ({figures.completed} in "
        f"{figures.seconds:.2f} s, {figures.failed} failed) · worst replica p50 "
        f"{figures.p50:.1f} ms, p99 {figures.p99:.1f} ms · CPU per redemption {cpu} · "
        f"max {figures.max_redeem_calls} redeem call(s) for any one coupon"
    )


def problems(figures: ReplicaFigures) -> list[str]:
    """Why the row does not count; empty when it does."""
    found = []
    if figures.max_redeem_calls != 1:
        found.append(f"{LABEL}: a coupon got {figures.max_redeem_calls} redeem calls")
    if figures.failed:
        found.append(f"{LABEL}: {figures.failed} requests failed or were refused")
    return found
