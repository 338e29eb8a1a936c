"""`resolver bench --metrics-cost` measures both storage modes and prints its figures."""

from __future__ import annotations

import re

from resolver_bench.metrics_cost import Cost, measure, render


def test_each_mode_reports_the_cpu_with_and_without_metrics() -> None:
    """Both variants ran and were timed, in memory and in multiprocess files (no speed asserted)."""
    costs = [measure(mode, redemptions=200, rounds=1) for mode in ("memory", "multiprocess")]
    for cost in costs:
        assert cost.without_us > 0
        assert cost.with_us > 0
    printed = render(costs)
    assert re.search(r"memory +without +[\d.]+ us +with +[\d.]+ us +added", printed)
    assert "multiprocess" in printed


def test_the_report_says_whether_the_target_is_met() -> None:
    """Under 0.05 ms added is ok; above it, the report says so."""
    assert "ok" in render([Cost("memory", 10.0, 20.0)])
    assert "over 0.05 ms" in render([Cost("memory", 10.0, 80.0)])
