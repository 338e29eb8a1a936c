"""Overload: what one worker does at twice the load it can serve, with and without its bound.

    python -m resolver_bench.overload [--latency-ms 50] [--seconds 10] [--bound 100]

First the worker's saturation throughput S is measured with the closed-loop generator (wrk,
or the Python client), many connections at once. Then requests arrive at a fixed rate (an open
loop: arrivals do not wait for answers, as members' taps do not) at S/2 and at 2 x S, against
a worker with the bound `RESOLVER_MAX_IN_FLIGHT` and one without it (10,000). Latency is
counted from each request's scheduled time, so a generator that falls behind cannot hide a
queue. Accepted (200) and refused (503) answers are reported apart.

The generator, the sandbox, Redis and the worker share this machine's cores: the figures are
wall-clock and noisy on a busy machine; the CPU per request (the worker's own CPU time) is not.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import psutil
from resolver_sandbox.embedded import EmbeddedRedis

from resolver_bench import processes
from resolver_bench.client import _answer
from resolver_bench.load import percentile
from resolver_bench.runner import CAMPAIGN, JSON_HEADERS, make_coupons, pick_generator, settings
from resolver_bench.runner import redemptions as closed_loop_redemptions

if TYPE_CHECKING:
    from collections.abc import Sequence

UNBOUNDED = 10_000
SATURATION_CONNECTIONS = 200
READ_TIMEOUT_S = 30.0
MIB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Phase:
    """What one open-loop run saw."""

    label: str
    offered: float  # requests per second sent
    seconds: float
    accepted: list[float]  # latencies in ms of the 200 answers
    refused: list[float]  # latencies in ms of the 503 answers
    other: int  # any other status, or no answer
    cpu_ms: float  # the worker's CPU during the run
    elapsed: float  # until the last answer
    rss: int

    def line(self) -> str:
        accepted, refused = sorted(self.accepted), sorted(self.refused)
        answered = len(accepted) + len(refused)
        cpu = self.cpu_ms / answered if answered else 0.0
        return (
            f"  {self.label:<24} {self.offered:>6,.0f}/s  "
            f"accepted {len(accepted) / self.seconds:>5,.0f}/s"
            f" p50 {percentile(accepted, 50):>6.1f} p99 {percentile(accepted, 99):>7.1f} ms  "
            f"refused {len(refused) / self.seconds:>5,.0f}/s"
            f" p50 {percentile(refused, 50):>5.1f} p99 {percentile(refused, 99):>6.1f} ms  "
            f"other {self.other}  cpu {cpu:.2f} ms/answer"
            f" (worker busy {self.cpu_ms / 10 / self.elapsed:.0f} % of a core)"
            f"  rss {self.rss / MIB:.0f} MiB"
        )


def body(number: int, prefix: str) -> bytes:
    return (f'{{"externalId": "{prefix}{number}", "campaignId": "{CAMPAIGN}"}}').encode()


async def open_loop(url: str, rate: float, seconds: float, prefix: str) -> tuple[list[float], ...]:
    """POST a redemption every 1/rate s for `seconds`, on keep-alive connections kept idle
    between requests (a new one when none is idle); latencies in ms by answer."""
    address = httpx.URL(url)
    host, port = address.host, address.port or 80
    head = f"POST /api/v1/redeem HTTP/1.1\r\nHost: {host}:{port}\r\n"
    head += "".join(f"{name}: {value}\r\n" for name, value in JSON_HEADERS.items())
    idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
    accepted: list[float] = []
    refused: list[float] = []
    other: list[float] = []
    loop = asyncio.get_running_loop()

    async def one(number: int, scheduled: float) -> None:
        content = body(number, prefix)
        request = f"{head}Content-Length: {len(content)}\r\n\r\n".encode() + content
        try:
            reader, writer = idle.pop() if idle else await asyncio.open_connection(host, port)
            writer.write(request)
            status = await asyncio.wait_for(_answer(reader), READ_TIMEOUT_S)
        except (OSError, asyncio.IncompleteReadError, TimeoutError, ValueError):
            other.append(0.0)
            return
        idle.append((reader, writer))
        latency = (loop.time() - scheduled) * 1000
        {200: accepted, 503: refused}.get(status, other).append(latency)

    tasks = []
    start = loop.time()
    count = int(rate * seconds)
    for number in range(count):
        scheduled = start + number / rate
        delay = scheduled - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(number, scheduled)))
    await asyncio.gather(*tasks)
    for _, writer in idle:
        writer.close()
    return accepted, refused, other


def phase(label: str, serve: processes.Child, rate: float, seconds: float, prefix: str) -> Phase:
    worker = psutil.Process(serve.pid)
    before, started = worker.cpu_times(), time.monotonic()
    accepted, refused, other = asyncio.run(open_loop(serve.url, rate, seconds, prefix))
    after, elapsed = worker.cpu_times(), time.monotonic() - started
    cpu = (after.user + after.system - before.user - before.system) * 1000
    rss = worker.memory_info().rss
    return Phase(label, rate, seconds, accepted, refused, len(other), cpu, elapsed, rss)


def run(latency_ms: float, seconds: float, bound: int) -> str:
    """The whole scenario; returns the printed report."""
    generator = pick_generator("auto")
    lines = []
    with contextlib.ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="resolver-bench-")))
        redis_url = stack.enter_context(EmbeddedRedis()).url
        sandbox = stack.enter_context(processes.sandbox(workdir, latency_ms=latency_ms))
        admin = stack.enter_context(httpx.Client(base_url=sandbox.url, timeout=60.0))

        def worker(limit: int) -> processes.Child:
            environment = settings(sandbox.url, redis_url) | {"RESOLVER_MAX_IN_FLIGHT": str(limit)}
            return processes.serve(workdir, environment, workers=1)

        with worker(UNBOUNDED) as serve:
            processes.wait_for_workers(redis_url, 1)
            make_coupons(admin, "w-", 500)
            make_coupons(admin, "sat-", 4000)
            generator.run(closed_loop_redemptions(serve.url, "w-", 500, 50))
            saturation = generator.run(
                closed_loop_redemptions(serve.url, "sat-", 4000, SATURATION_CONNECTIONS)
            )
        rate = saturation.rate
        lines.append(
            f"resolver bench: overload · 1 worker · upstream {latency_ms:g} ms · "
            f"RESOLVER_MAX_IN_FLIGHT {bound} · {seconds:g} s per run"
        )
        lines.append(
            f"  saturation               {rate:,.0f} redemptions/s ({generator.name}, "
            f"{SATURATION_CONNECTIONS} connections: p50 {saturation.p50:.1f} ms, "
            f"p99 {saturation.p99:.1f} ms)"
        )
        runs = [
            ("0.5 x S, bounded", bound, rate / 2),
            ("2 x S, unbounded", UNBOUNDED, rate * 2),
            ("2 x S, bounded", bound, rate * 2),
        ]
        for number, (label, limit, offered) in enumerate(runs):
            prefix = f"o{number}-"
            make_coupons(admin, prefix, int(offered * seconds) + 1)
            with worker(limit) as serve:
                processes.wait_for_workers(redis_url, 1)
                lines.append(phase(label, serve, offered, seconds, prefix).line())
    lines.append(
        "  wall-clock figures on a machine shared by the generator, the sandbox, Redis and the"
        " worker: re-measure on a quiet one"
    )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m resolver_bench.overload")
    parser.add_argument("--latency-ms", type=float, default=50.0, help="the sandbox's latency")
    parser.add_argument("--seconds", type=float, default=10.0, help="each open-loop run")
    parser.add_argument("--bound", type=int, default=100, help="RESOLVER_MAX_IN_FLIGHT")
    args = parser.parse_args(argv)
    started = time.monotonic()
    print(run(args.latency_ms, args.seconds, args.bound), flush=True)
    print(f"  ({time.monotonic() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
