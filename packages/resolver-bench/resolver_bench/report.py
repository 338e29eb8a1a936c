"""The benchmark's report: one labelled line per figure, and whether the run passes.

A run fails when any coupon got more than one redeem call (the service's promise) or when any
request went unanswered or was refused (then the figures describe something else).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from resolver_bench.load import Measured
    from resolver_bench.runner import Figures, MemberFigures

MIB = 1024 * 1024
# Where tuning aims, shown next to the figures; never asserted.
TARGET = "direction: >= 1,000 redemptions/s with <= 10 ms added at p99 (50 ms upstream, 2 workers)"


def problems(figures: Figures) -> list[str]:
    """Why this run does not count; empty when it does."""
    found = []
    if figures.max_redeem_calls != 1:
        found.append(
            f"a coupon got {figures.max_redeem_calls} redeem calls: exactly once is broken"
            if figures.max_redeem_calls > 1
            else "no coupon got a redeem call"
        )
    for label, measured in (("service", figures.service), ("sandbox", figures.sandbox)):
        if measured.failed:
            found.append(f"{measured.failed} {label} requests failed or were refused")
    failed_flows = figures.member_failures + (figures.members.failed if figures.members else 0)
    if failed_flows:
        found.append(f"{failed_flows} member flows did not reach their receipt")
    return found


def render(figures: Figures) -> str:
    """The report, as printed by `resolver bench`."""
    options, service, alone = figures.options, figures.service, figures.sandbox
    redemptions = max(service.completed, 1)
    commands = sorted(figures.redis_commands.items(), key=lambda item: (-item[1], item[0]))
    per_redemption = sum(figures.redis_commands.values()) / redemptions
    listing = ", ".join(f"{name} {calls / redemptions:.2f}" for name, calls in commands)
    rss = " · ".join(f"{size / MIB:.0f} MiB" for size in figures.worker_rss)
    if figures.supervisor_rss is not None:
        rss += f" (supervisor {figures.supervisor_rss / MIB:.0f} MiB)"
    budget = "checked (as for members)" if options.miss_budget else "off (as with an API token)"
    lines = [
        "resolver bench",
        f"  machine        {figures.cores} CPU cores, shared by the load generator, the sandbox,"
        " Redis and the workers: expect noise",
        f"  setup          {options.workers} workers · upstream latency {options.latency_ms:g} ms"
        f" · {options.requests} redemptions · {options.concurrency} connections"
        f" · Redis {figures.redis} · miss budget {budget}",
        f"  generator      {figures.generator} · ceiling {figures.ceiling.rate:,.0f} req/s"
        f" (GET /healthz through the service, {options.concurrency} connections)",
        f"  throughput     {service.rate:,.0f} redemptions/s"
        f" ({service.completed} in {service.seconds:.2f} s, {service.failed} failed)",
        f"  latency        {_percentiles(service)}",
        f"  sandbox alone  {_percentiles(alone)} ({alone.completed} redeems, {alone.rate:,.0f}/s)",
        f"  added          {_added(service, alone)}",
        f"  redis          {per_redemption:.2f} commands/redemption ({listing});"
        " commands run inside Lua scripts count too",
        f"  worker cpu     {_worker_cpu(figures, redemptions)}",
        f"  cpu            {_cpu(figures, redemptions)}",
        f"  rss            {rss}",
        f"  max redeems    {figures.max_redeem_calls} redeem call(s) for any one coupon"
        f" ({figures.coupons_redeemed} coupons redeemed)",
        f"  {TARGET}",
    ]
    if figures.members is not None:
        lines.insert(-1, f"  members        {_members(figures.members)}")
    lines += _profiles(figures)
    lines += [f"  FAILED         {problem}" for problem in problems(figures)]
    if figures.logs:
        lines.append(f"  logs           serve's and the sandbox's output: {figures.logs}")
    return "\n".join(lines)


def _members(flows: MemberFigures) -> str:
    per_flow = flows.worker_seconds * 1000 / max(flows.flows, 1)
    return (
        f"{per_flow:.2f} ms of worker CPU per member flow (open the link, confirm, the receipt),"
        f" {flows.flows / flows.seconds:,.0f} flows/s ({flows.flows} flows, {flows.failed} failed;"
        " the driver, httpx, bounds the rate)"
    )


def _added(service: Measured, alone: Measured) -> str:
    """Each percentile of the service less the sandbox alone's. The two are measured in separate
    runs, so the sandbox's noisier tail can exceed the service's: that reads as at most zero."""
    added = {
        "p50": service.p50 - alone.p50,
        "p95": service.p95 - alone.p95,
        "p99": service.p99 - alone.p99,
    }
    line = " · ".join(
        f"{name} {value:.1f} ms" if value >= 0 else f"{name} ≤ 0 ms"
        for name, value in added.items()
    )
    if min(added.values()) < 0:
        line += " (≤ 0: the sandbox alone was slower there, in its own run)"
    return line


def _percentiles(measured: Measured) -> str:
    return f"p50 {measured.p50:.1f} ms · p95 {measured.p95:.1f} ms · p99 {measured.p99:.1f} ms"


def _cpu(figures: Figures, redemptions: int) -> str:
    parts = " · ".join(
        f"{part} {seconds * 1000 / redemptions:.2f} ms"
        for part, seconds in figures.cpu_seconds.items()
        if part != "redis" or figures.options.redis_url is None  # a given Redis is not ours
    )
    supply = figures.cores * 1000
    return f"{parts} (CPU per redemption; {figures.cores} cores supply {supply} ms each second)"


def _worker_cpu(figures: Figures, redemptions: int) -> str:
    seconds = figures.cpu_seconds.get("workers", 0.0)
    kernel = figures.worker_kernel_seconds
    return (
        f"{seconds * 1000 / redemptions:.2f} ms per JSON redemption"
        " (user + system CPU of the worker processes during the measured run;"
        f" {kernel * 1000 / redemptions:.2f} ms of it in the kernel)"
    )


def _profiles(figures: Figures) -> list[str]:
    """Each profiled flow as a Markdown table: part, share of the workers' samples."""
    lines: list[str] = []
    for flow, profile in (figures.profiles or {}).items():
        lines += [
            "",
            f"  profile: {flow} ({profile.samples:,} samples of the workers' CPU, py-spy)",
            "",
            "  | part | share of worker CPU |",
            "  |---|---|",
        ]
        lines += [f"  | {part} | {profile.share(count):.1f} % |" for part, count in profile.parts]
        lines += ["", "  busiest innermost frames:"]
        lines += [f"    {profile.share(count):5.1f} %  {frame}" for frame, count in profile.top]
    if lines:
        lines += [
            f"  raw stacks     {figures.profile_dir} (py-spy's raw format: a stack per line)",
            "",
        ]
    return lines
