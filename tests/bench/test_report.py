"""When a benchmark run does not count: more than one redeem call, or failed requests."""

from __future__ import annotations

from dataclasses import replace

from resolver_bench.load import Measured
from resolver_bench.report import problems, render
from resolver_bench.runner import Figures, MemberFigures, Options, settings

CLEAN = Measured(completed=100, failed=0, seconds=0.1, p50=55.0, p95=60.0, p99=65.0)
FIGURES = Figures(
    options=Options(requests=100),
    cores=2,
    generator="wrk",
    redis="embedded",
    ceiling=Measured(5000, 0, 0.5, 1.0, 2.0, 3.0),
    sandbox=replace(CLEAN, p50=51.0, p95=52.0, p99=53.0),
    service=CLEAN,
    redis_commands={"evalsha": 200, "hset": 200},
    cpu_seconds={"workers": 0.2, "sandbox": 0.05, "redis": 0.01, "generator": 0.01},
    worker_kernel_seconds=0.015,
    worker_rss=[70 * 1024 * 1024, 71 * 1024 * 1024],
    supervisor_rss=40 * 1024 * 1024,
    max_redeem_calls=1,
    coupons_redeemed=100,
)


def test_a_clean_run_has_no_problems_and_reports_its_figures() -> None:
    """One call per coupon, nothing failed: no FAILED line; added latency is the difference."""
    assert problems(FIGURES) == []
    report = render(FIGURES)
    assert "FAILED" not in report
    assert "added          p50 4.0 ms · p95 8.0 ms · p99 12.0 ms" in report
    assert "4.00 commands/redemption (evalsha 2.00, hset 2.00" in report
    assert "70 MiB · 71 MiB (supervisor 40 MiB)" in report


def test_added_latency_never_reads_as_negative() -> None:
    """The sandbox alone runs apart and its tail is noisy: a percentile where it was slower than
    the service reads as at most zero, with the reason, never as a negative latency."""
    noisy = replace(FIGURES, sandbox=replace(CLEAN, p50=51.0, p95=52.0, p99=68.0))
    report = render(noisy)
    assert "added          p50 4.0 ms · p95 8.0 ms · p99 ≤ 0 ms" in report
    assert "-3.0" not in report
    assert "the sandbox alone was slower there, in its own run" in report
    assert "in its own run" not in render(FIGURES)


def test_a_second_redeem_call_fails_the_run() -> None:
    """Any coupon with two redeem calls means exactly-once is broken."""
    found = problems(replace(FIGURES, max_redeem_calls=2))
    assert found == ["a coupon got 2 redeem calls: exactly once is broken"]
    assert "FAILED" in render(replace(FIGURES, max_redeem_calls=2))


def test_failed_requests_fail_the_run() -> None:
    """Refused or unanswered requests mean the figures describe something else."""
    assert problems(replace(FIGURES, service=replace(CLEAN, failed=3))) == [
        "3 service requests failed or were refused"
    ]


def test_a_failed_run_says_where_the_logs_were_kept() -> None:
    """The children's output outlives the run's temporary directory when something failed."""
    report = render(replace(FIGURES, max_redeem_calls=2, logs="logs-dir"))
    assert "logs           serve's and the sandbox's output: logs-dir" in report


def test_the_worker_cpu_per_redemption_has_a_line_of_its_own() -> None:
    assert "worker cpu     2.00 ms per JSON redemption" in render(FIGURES)


def test_the_worker_cpu_line_says_how_much_of_it_was_spent_in_the_kernel() -> None:
    """What a sampling profiler attributes to system calls can be checked against this."""
    assert "0.15 ms of it in the kernel)" in render(FIGURES)


def test_failed_member_flows_fail_a_profiled_run() -> None:
    assert problems(replace(FIGURES, member_failures=2)) == [
        "2 member flows did not reach their receipt"
    ]


def test_a_run_with_the_miss_budget_says_so() -> None:
    """With `--miss-budget` each request's budget is checked, as for a member or an API caller
    without a token; the setup line says which of the two configurations was measured."""
    assert "miss budget off (as with an API token)" in render(FIGURES)
    checked = replace(FIGURES, options=Options(requests=100, miss_budget=True))
    assert "miss budget checked (as for members)" in render(checked)


def test_the_miss_budget_is_off_unless_asked_for() -> None:
    """Off, as with an API token; asked for, large enough never to run out (every request
    comes from one address) but checked on every redemption."""
    assert settings("http://sandbox", "redis://r")["RESOLVER_RATE_LIMIT_MISSES"] == "off"
    on = settings("http://sandbox", "redis://r", miss_budget=True)
    assert on["RESOLVER_RATE_LIMIT_MISSES"] == "1000000/hour"


def test_member_flows_get_a_line_of_their_own() -> None:
    """With `--members`: the workers' CPU per member flow (three requests), the flows' rate and
    failures; a flow that did not reach its receipt fails the run."""
    measured = MemberFigures(flows=1000, failed=0, seconds=2.5, worker_seconds=1.2)
    report = render(replace(FIGURES, members=measured))
    assert (
        "  members        1.20 ms of worker CPU per member flow (open the link, confirm, the"
        " receipt), 400 flows/s (1000 flows, 0 failed; the driver, httpx, bounds the rate)"
    ) in report
    assert "members  " not in render(FIGURES)
    failing = replace(FIGURES, members=replace(measured, failed=3))
    assert problems(failing) == ["3 member flows did not reach their receipt"]
