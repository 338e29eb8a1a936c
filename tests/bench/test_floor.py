"""The bench's floor row: the same redemptions through a bare endpoint, and what it reports."""

from __future__ import annotations

import pytest
from resolver_bench.floor import FloorFigures, problems, render_row, run_floor
from resolver_bench.load import Measured
from resolver_bench.runner import Options

MEASURED = Measured(completed=1000, failed=0, seconds=1.0, p50=52.0, p95=55.0, p99=60.0)
CLEAN = FloorFigures(MEASURED, worker_cpu_ms=0.51, round_trips=2.0, max_redeem_calls=1)


def test_the_row_gives_worker_cpu_rate_and_round_trips() -> None:
    row = render_row(CLEAN)
    assert row.startswith("  floor          0.51 ms of worker CPU per redemption, 1,000/s")
    assert "0 failed, 2.00 Redis round trips each" in row
    assert problems(CLEAN) == []


def test_a_second_redeem_or_a_failed_request_fails_the_row() -> None:
    assert problems(FloorFigures(MEASURED, 0.5, 2.0, max_redeem_calls=2))
    failed = Measured(completed=990, failed=10, seconds=1.0, p50=52.0, p95=55.0, p99=60.0)
    assert problems(FloorFigures(failed, 0.5, 2.0, max_redeem_calls=1))


@pytest.mark.timeout(60)
def test_a_tiny_floor_run_redeems_every_coupon_once_in_two_round_trips_each() -> None:
    """The floor does a JSON redemption's I/O: one redeem call per coupon, two scripts. Enough
    redemptions that their CPU spans several of the kernel's 10 ms accounting ticks."""
    run = run_floor(
        Options(workers=1, requests=400, warmup=5, concurrency=5, latency_ms=0, generator="python"),
        say=lambda _: None,
    )
    assert problems(run) == []
    assert (run.measured.completed, run.round_trips) == (400, 2.0)
    assert run.worker_cpu_ms > 0
