"""`resolver bench` end to end, tiny: every figure is printed and every coupon redeemed once."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from resolver_bench.processes import child_environment
from resolver_bench.wrk import find_wrk

FIGURE = r"[\d,]+(?:\.\d+)?"
ADDED = rf"(?:{FIGURE}|≤ 0)"  # the sandbox alone, run apart, may have been slower there
EXPECTED_LINES = {
    "machine": rf"{FIGURE} CPU cores",
    "generator": rf"ceiling {FIGURE} req/s",
    "throughput": rf"{FIGURE} redemptions/s \(200 in {FIGURE} s, 0 failed\)",
    "latency": rf"p50 {FIGURE} ms · p95 {FIGURE} ms · p99 {FIGURE} ms",
    "sandbox alone": rf"p50 {FIGURE} ms · p95 {FIGURE} ms · p99 {FIGURE} ms",
    "added": rf"p50 {ADDED} ms · p95 {ADDED} ms · p99 {ADDED} ms",
    # Two round trips: the claim and the settle scripts (the commands they run count too).
    "redis": rf"{FIGURE} commands/redemption \(.*\bevalsha 2\.00\b",
    "worker cpu": rf"{FIGURE} ms per JSON redemption",
    "cpu": rf"workers {FIGURE} ms · sandbox {FIGURE} ms · redis {FIGURE} ms · generator {FIGURE}",
    "rss": rf"{FIGURE} MiB",
    "max redeems": r"1 redeem call\(s\) for any one coupon \(420 coupons redeemed\)",
}
REPORT_LINE = re.compile(r"^  (\S.*?) {2,}(.*)$")  # "  label  value", aligned in columns
GENERATORS = [
    "python",
    pytest.param("wrk", marks=pytest.mark.skipif(find_wrk() is None, reason="wrk is not on PATH")),
]


@pytest.mark.timeout(60)
@pytest.mark.parametrize("generator", GENERATORS)
def test_a_tiny_run_reports_every_figure_and_one_redeem_per_coupon(generator: str) -> None:
    """200 redemptions: exit 0, each labelled figure present, the generator named, max 1."""
    command = [
        sys.executable, "-m", "resolver", "bench", "--requests", "200", "--warmup", "20",
        "--concurrency", "20", "--generator", generator,
    ]  # fmt: skip
    done = subprocess.run(  # noqa: S603  # our own interpreter and argv, no shell
        command, capture_output=True, text=True, timeout=55, env=child_environment({}), check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    report = {
        found.group(1): found.group(2)
        for found in map(REPORT_LINE.match, done.stdout.splitlines())
        if found
    }
    for label, pattern in EXPECTED_LINES.items():
        assert re.search(pattern, report.get(label, "")), f"{label}: {report.get(label)!r}"
    assert report["generator"].startswith(generator)
    assert "FAILED" not in report


@pytest.mark.timeout(60)
def test_a_tiny_run_with_members_reports_what_a_member_flow_costs() -> None:
    """`--members`: member flows through the pages after the JSON run, each reaching its
    receipt, and the workers' CPU per flow."""
    command = [
        sys.executable, "-m", "resolver", "bench", "--requests", "60", "--warmup", "10",
        "--concurrency", "10", "--generator", "python", "--members",
    ]  # fmt: skip
    done = subprocess.run(  # noqa: S603  # our own interpreter and argv, no shell
        command, capture_output=True, text=True, timeout=55, env=child_environment({}), check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(
        rf"^  members +{FIGURE} ms of worker CPU per member flow .*\(60 flows, 0 failed",
        done.stdout,
        re.MULTILINE,
    ), done.stdout
