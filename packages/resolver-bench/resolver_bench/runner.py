"""One benchmark run: start the parts, make coupons, measure, check, and collect the figures.

    Redis (embedded, or --redis-url) ─┐
    resolver sandbox --latency-ms L ──┼── resolver serve --workers N ◄── load generator
                                      └────────────────────────────────── (sandbox alone)

In order: warm up through the service; measure the generator's ceiling on `GET /healthz`;
measure the sandbox's redeem latency directly, the same way the service is measured; then send
M JSON redemptions through the service, each naming a coupon of its own, with Redis's command
counts taken before and after. Finally the sandbox says how many redeem calls each coupon got.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import httpx
import psutil
import redis
from resolver_sandbox.embedded import EmbeddedRedis
from resolver_sandbox.testing import REDEEM_PATH, passkit_jwt

from resolver_bench import members, processes
from resolver_bench.client import PythonClient
from resolver_bench.cpu import CpuClock, redis_servers, workers_of
from resolver_bench.load import Load, Measured
from resolver_bench.profile import Profile, Sampler
from resolver_bench.wrk import Wrk, find_wrk

if TYPE_CHECKING:
    from collections.abc import Callable

    from resolver_bench.load import Generator

CAMPAIGN = "bench"
OFFER = "bench-offer"
JSON_HEADERS = {"Content-Type": "application/json"}
# The sandbox accepts PassKit JWTs for at most 60 s, and the direct run reuses one token.
TOKEN_LIFETIME_S = 55.0
SANDBOX_SAMPLE = 2_000
CEILING_REQUESTS = 5_000
ADMIN_TIMEOUT_S = 60.0
# --profile's member flows: each is three requests through a general (costly) Python client.
MEMBER_FLOWS = 1_000
MEMBER_CONNECTIONS = 20

GeneratorChoice = Literal["auto", "wrk", "python"]


@dataclass(frozen=True, slots=True)
class Options:
    """What to run: the command line's options."""

    workers: int = 2
    requests: int = 5_000
    concurrency: int = 100
    latency_ms: float = 50.0
    warmup: int = 1_000
    redis_url: str | None = None
    generator: GeneratorChoice = "auto"
    profile: bool = False  # py-spy on the workers: the JSON run, then member flows
    miss_budget: bool = False  # check each request's miss budget, as for members
    members: bool = False  # member flows through the pages after the JSON run, measured


@dataclass(frozen=True, slots=True)
class MemberFigures:
    """Member flows (open the link, confirm, the receipt) and what the workers spent on them."""

    flows: int
    failed: int
    seconds: float  # wall time of all the flows
    worker_seconds: float  # user + system CPU of the workers meanwhile


@dataclass(frozen=True, slots=True)
class Figures:
    """Everything the report shows."""

    options: Options
    cores: int
    generator: str
    redis: str
    ceiling: Measured
    sandbox: Measured
    service: Measured
    redis_commands: dict[str, int]  # per command, during the service run
    cpu_seconds: dict[str, float]  # per part (workers, sandbox, redis, generator), same run
    worker_kernel_seconds: float  # the part of the workers' seconds spent in the kernel
    worker_rss: list[int]  # bytes
    supervisor_rss: int | None  # bytes; None with one worker (it is the worker)
    max_redeem_calls: int
    coupons_redeemed: int
    logs: str | None = None  # where serve's and the sandbox's output was kept, after a failure
    # With --profile: where the workers' CPU went, per flow ("JSON", "member").
    profiles: dict[str, Profile] | None = None
    profile_dir: str | None = None  # py-spy's raw stacks, one file per worker and flow
    member_failures: int = 0
    members: MemberFigures | None = None  # with --members


def pick_generator(choice: GeneratorChoice) -> Generator:
    """wrk when asked for or found on PATH, else the Python client."""
    binary = find_wrk()
    if choice == "wrk" and binary is None:
        raise RuntimeError("--generator wrk: no wrk on PATH (apt-get install wrk)")
    if binary is not None and choice != "python":
        return Wrk(binary)
    return PythonClient()


def run(options: Options, say: Callable[[str], None]) -> Figures:
    """Run the whole benchmark; `say` hears about progress."""
    generator = pick_generator(options.generator)
    with contextlib.ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="resolver-bench-")))
        if options.redis_url:
            redis_url, redis_label = options.redis_url, "given by --redis-url"
        else:
            redis_url = stack.enter_context(EmbeddedRedis()).url
            redis_label = "embedded (unix socket)"
        say(f"starting the sandbox ({options.latency_ms:g} ms) and {options.workers} worker(s)")
        sandbox = stack.enter_context(processes.sandbox(workdir, latency_ms=options.latency_ms))
        admin = stack.enter_context(httpx.Client(base_url=sandbox.url, timeout=ADMIN_TIMEOUT_S))
        serve = stack.enter_context(
            processes.serve(
                workdir,
                settings(sandbox.url, redis_url, miss_budget=options.miss_budget),
                workers=options.workers,
            )
        )
        processes.wait_for_workers(redis_url, options.workers)

        sample = min(options.requests, SANDBOX_SAMPLE)
        make_all_coupons(admin, options, sample)

        say(f"warming up with {options.warmup} redemptions ({generator.name})")
        if options.warmup:
            generator.run(redemptions(serve.url, "w-", options.warmup, options.concurrency))
        say("measuring the generator's ceiling on GET /healthz")
        ceiling = generator.run(
            Load(serve.url, "GET", "/healthz", CEILING_REQUESTS, options.concurrency)
        )
        say(f"measuring the sandbox alone ({sample} redeems)")
        alone = generator.run(direct_redeems(sandbox.url, sample, options.concurrency))

        say(f"measuring {options.requests} redemptions over {options.concurrency} connections")
        counter = redis.Redis.from_url(redis_url)
        stack.callback(counter.close)
        workers = workers_of(serve.pid, options.workers)
        clock = CpuClock(
            {"workers": workers, "sandbox": [psutil.Process(sandbox.pid)], "redis": redis_servers()}
        )
        before = command_counts(counter)
        sampler = json_sampler(options, workers)
        with sampler or contextlib.nullcontext():
            clock.start()
            service = generator.run(
                redemptions(serve.url, "r-", options.requests, options.concurrency)
            )
            cpu_seconds = clock.stop()
        after = command_counts(counter)
        flows = measure_members(options, workers, serve.url, say) if options.members else None
        profiles, member_failures = None, 0
        if sampler is not None:
            say(f"profiling {member_count(options)} member flows (open, confirm, receipt)")
            paging, member_failures = profile_members(options, workers, serve.url, sampler.folder)
            profiles = {"JSON redemption": sampler.profile(), "member flow": paging}
        worker_rss = [worker.memory_info().rss for worker in workers]
        # With several workers, serve itself only supervises them.
        supervisor_rss = (
            None if options.workers == 1 else psutil.Process(serve.pid).memory_info().rss
        )
        tallies = admin.get("/_sandbox/stats").json()["coupons"].values()
        max_redeem_calls = max((tally["count"] for tally in tallies), default=0)
        troubled = (
            service.failed
            or alone.failed
            or max_redeem_calls != 1
            or member_failures
            or (flows is not None and flows.failed)
        )
        logs = keep_logs(workdir) if troubled else None

    return Figures(
        options=options,
        cores=os.cpu_count() or 1,
        generator=generator.name,
        redis=redis_label,
        ceiling=ceiling,
        sandbox=alone,
        service=service,
        redis_commands={
            name: calls - before.get(name, 0)
            for name, calls in after.items()
            if calls > before.get(name, 0) and name != "info"  # our own INFO
        },
        cpu_seconds=cpu_seconds,
        worker_kernel_seconds=clock.kernel.get("workers", 0.0),
        worker_rss=worker_rss,
        supervisor_rss=supervisor_rss,
        max_redeem_calls=max_redeem_calls,
        coupons_redeemed=sum(1 for tally in tallies if tally["applied"]),
        logs=logs,
        profiles=profiles,
        profile_dir=str(sampler.folder) if sampler else None,
        member_failures=member_failures,
        members=flows,
    )


def make_all_coupons(admin: httpx.Client, options: Options, sample: int) -> None:
    """Every coupon the run redeems, a prefix for each phase: warm-up, the sandbox alone, the
    measured run, and the member flows profiled or measured."""
    make_coupons(admin, "w-", options.warmup)
    make_coupons(admin, "s-", sample)
    make_coupons(admin, "r-", options.requests)
    if options.profile:
        make_coupons(admin, "m-", member_count(options))
    if options.members:
        make_coupons(admin, "f-", member_count(options))


def measure_members(
    options: Options, workers: list[psutil.Process], url: str, say: Callable[[str], None]
) -> MemberFigures:
    """Member flows, each to a coupon of its own, and the workers' CPU meanwhile."""
    count = member_count(options)
    say(f"measuring {count} member flows (open, confirm, receipt)")
    clock = CpuClock({"workers": workers})
    started = time.perf_counter()
    clock.start()
    failed = members.run(url, CAMPAIGN, "f-", count, min(options.concurrency, MEMBER_CONNECTIONS))
    worker_seconds = clock.stop()["workers"]
    return MemberFigures(count, failed, time.perf_counter() - started, worker_seconds)


def profile_members(
    options: Options, workers: list[psutil.Process], url: str, workdir: Path
) -> tuple[Profile, int]:
    """The workers' profile during member flows, and how many flows failed."""
    connections = min(options.concurrency, MEMBER_CONNECTIONS)
    with Sampler([worker.pid for worker in workers], workdir, "member") as sampler:
        failed = members.run(url, CAMPAIGN, "m-", member_count(options), connections)
    return sampler.profile(), failed


def json_sampler(options: Options, workers: list[psutil.Process]) -> Sampler | None:
    """With --profile, py-spy on the workers; its raw stacks are kept after the run."""
    if not options.profile:
        return None
    kept = Path(tempfile.mkdtemp(prefix="resolver-bench-profile-"))
    return Sampler([worker.pid for worker in workers], kept, "json")


def member_count(options: Options) -> int:
    return min(options.requests, MEMBER_FLOWS)


def settings(sandbox_url: str, redis_url: str, *, miss_budget: bool = False) -> dict[str, str]:
    """The service's environment: the sandbox upstream, this Redis, JSON logs to a file.

    Rate limits are off: every request comes from this one address, which a per-IP limit
    exists to stop. The per-coupon counter still runs inside the claim script. With
    `miss_budget`, each request's budget of misses is checked as a member's is (or an API
    caller's without a token), against a budget no run spends.
    """
    return {
        "RESOLVER_UPSTREAM": "sandbox",
        "RESOLVER_PASSKIT_BASE_URL": sandbox_url,
        "RESOLVER_REDIS_URL": redis_url,
        "RESOLVER_SECRET_KEY": secrets.token_hex(16),
        "RESOLVER_LOG_FORMAT": "json",
        "RESOLVER_RATE_LIMIT_MISSES": "1000000/hour" if miss_budget else "off",
        "RESOLVER_RATE_LIMIT_COUPON": "1000/minute",
        # Every request of a run must succeed: the per-worker bound on requests in progress is
        # measured by `python -m resolver_bench.overload` instead.
        "RESOLVER_MAX_IN_FLIGHT": "10000",
    }


def make_coupons(admin: httpx.Client, prefix: str, count: int) -> None:
    """`count` unredeemed coupons `prefix0`.., in one call to the sandbox's admin API."""
    expiry = (datetime.now(UTC) + timedelta(days=1)).isoformat().replace("+00:00", "Z")
    body = {
        "count": count,
        "campaignId": CAMPAIGN,
        "externalIdPrefix": prefix,
        "offerId": OFFER,
        "expiryDate": expiry,
    }
    admin.post("/_sandbox/coupons", json=body).raise_for_status()


def redemptions(url: str, prefix: str, count: int, connections: int) -> Load:
    """`POST /api/v1/redeem` for coupons `prefix0`.., each once, as a till would send it."""
    body = json.dumps({"externalId": f"{prefix}{{n}}", "campaignId": CAMPAIGN})
    return Load(url, "POST", "/api/v1/redeem", count, connections, body, JSON_HEADERS)


def direct_redeems(sandbox_url: str, count: int, connections: int) -> Load:
    """PassKit's redeem call straight to the sandbox, for coupons `s0`.., each once."""
    token = passkit_jwt(iat_offset=-1.0, exp_offset=TOKEN_LIFETIME_S)
    body = json.dumps({"externalId": "s-{n}", "campaignId": CAMPAIGN})
    headers = {**JSON_HEADERS, "Authorization": token}
    return Load(sandbox_url, "PUT", REDEEM_PATH, count, connections, body, headers)


def keep_logs(workdir: Path) -> str:
    """Copy the children's output out of the working directory (deleted at the end)."""
    kept = Path(tempfile.mkdtemp(prefix="resolver-bench-logs-"))
    for log in workdir.glob("*.stderr"):
        shutil.copy(log, kept / log.name)
    return str(kept)


def command_counts(client: redis.Redis) -> dict[str, int]:
    """Calls per command since Redis started (INFO commandstats)."""
    stats = client.info("commandstats")
    return {name.removeprefix("cmdstat_"): int(entry["calls"]) for name, entry in stats.items()}
