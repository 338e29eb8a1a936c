"""`resolver sandbox` and `resolver bench`: the repository's own tools, handed over to their
packages (`resolver_sandbox`, `resolver_bench`), which a production install does not carry."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from resolver.cli.console import say

if TYPE_CHECKING:
    import argparse


def add(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    sandbox_cmd = commands.add_parser("sandbox", help="run the simulated back ends' APIs")
    sandbox_cmd.add_argument("--host", default="127.0.0.1")
    sandbox_cmd.add_argument("--port", type=int, default=8100)
    sandbox_cmd.add_argument(
        "--latency-ms", type=float, default=0.0, help="added to every PassKit call"
    )
    sandbox_cmd.set_defaults(run=sandbox)

    bench_cmd = commands.add_parser(
        "bench", help="measure serve under load against the sandbox (starts everything itself)"
    )
    bench_cmd.add_argument("--workers", type=int, default=2, help="serve's workers (default 2)")
    bench_cmd.add_argument(
        "--requests", type=int, default=5000, help="redemptions measured, one per coupon"
    )
    bench_cmd.add_argument(
        "--concurrency", type=int, default=100, help="connections at once (default 100)"
    )
    bench_cmd.add_argument(
        "--latency-ms", type=float, default=50.0, help="the sandbox's latency (default 50)"
    )
    bench_cmd.add_argument(
        "--warmup", type=int, default=1000, help="redemptions before measuring (default 1000)"
    )
    bench_cmd.add_argument("--redis-url", help="use this Redis instead of an embedded one")
    bench_cmd.add_argument(
        "--generator",
        choices=["auto", "wrk", "python"],
        default="auto",
        help="load generator: wrk when on PATH (auto), else the Python client",
    )
    bench_cmd.add_argument(
        "--metrics-cost",
        action="store_true",
        help="only measure the worker CPU that metrics add to a redemption",
    )
    bench_cmd.add_argument(
        "--cluster-replicas",
        action="store_true",
        help="add the row: 3 replicas on one Redis Cluster (needs redis-server 7)",
    )
    bench_cmd.add_argument(
        "--floor",
        action="store_true",
        help="add the row: the same redemptions through a bare endpoint (the stack's floor)",
    )
    bench_cmd.add_argument(
        "--miss-budget",
        action="store_true",
        help="check each request's miss budget, as for members and API callers without a token",
    )
    bench_cmd.add_argument(
        "--members",
        action="store_true",
        help="add the line: member flows through the pages (open, confirm, receipt), measured",
    )
    bench_cmd.add_argument(
        "--profile",
        action="store_true",
        help="sample the workers with py-spy (needs ptrace: root) and say where their CPU goes",
    )
    bench_cmd.set_defaults(run=bench)


def sandbox(args: argparse.Namespace) -> int:
    from resolver_sandbox.server import serve as serve_sandbox  # noqa: PLC0415

    say(
        f"Sandbox on http://{args.host}:{args.port}: PassKit, Passworks, Skycore, Google Wallet "
        "and generic back ends, simulated (no real coupons). Admin API under /_sandbox/."
    )
    serve_sandbox(args.host, args.port, latency_ms=args.latency_ms)
    return 0


def bench(args: argparse.Namespace) -> int:
    from resolver_bench.report import problems, render  # noqa: PLC0415  # only bench needs it
    from resolver_bench.runner import Options, run  # noqa: PLC0415

    if args.metrics_cost:
        from resolver_bench import metrics_cost  # noqa: PLC0415

        costs = [metrics_cost.measure(mode) for mode in ("memory", "multiprocess")]
        print(metrics_cost.render(costs), flush=True)
        return 0
    if min(args.workers, args.requests, args.concurrency) < 1 or args.warmup < 0:
        message = "--workers, --requests and --concurrency must be at least 1, --warmup 0"
        print(f"resolver: {message}", file=sys.stderr)
        return 2
    options = Options(
        workers=args.workers,
        requests=args.requests,
        concurrency=args.concurrency,
        latency_ms=args.latency_ms,
        warmup=args.warmup,
        redis_url=args.redis_url,
        generator=args.generator,
        profile=args.profile,
        miss_budget=args.miss_budget,
        members=args.members,
    )

    def progress(message: str) -> None:
        say(f"bench: {message}")

    figures = run(options, say=progress)
    print(render(figures), flush=True)
    failed = bool(problems(figures))
    if args.cluster_replicas:
        from resolver_bench import replicas  # noqa: PLC0415  # only this row needs it

        row = replicas.run_replicas(options, say=progress)
        failed |= report_row(replicas.render_row(row), replicas.problems(row))
    if args.floor:
        from resolver_bench import floor  # noqa: PLC0415  # only this row needs it

        bare = floor.run_floor(options, say=progress)
        failed |= report_row(floor.render_row(bare), floor.problems(bare))
    return 1 if failed else 0


def report_row(row: str, found: list[str]) -> bool:
    """A row added after the bench's report, then why it does not count; whether it fails."""
    print(row, flush=True)
    for problem in found:
        print(f"  FAILED         {problem}", flush=True)
    return bool(found)
