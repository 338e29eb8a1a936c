"""The bench's row for three replicas on one Redis Cluster: what it says and when it fails."""

from __future__ import annotations

from resolver_bench.replicas import ReplicaFigures, problems, render_row


def figures(**overrides: object) -> ReplicaFigures:
    values: dict[str, object] = {
        "completed": 900,
        "failed": 0,
        "seconds": 2.0,
        "p50": 60.0,
        "p99": 170.0,
        "cpu_ms": {"replicas": 1.4, "cluster": 0.16},
        "max_redeem_calls": 1,
    }
    return ReplicaFigures(**(values | overrides))  # type: ignore[arg-type]


def test_the_row_gives_rate_latency_cpu_and_redeem_calls() -> None:
    """One line: 450/s, the worst replica's latency, CPU per part, redeem calls per coupon."""
    row = render_row(figures())
    assert "3 replicas on one Redis Cluster: 450 redemptions/s" in row
    assert "p99 170.0 ms" in row
    assert "cluster 0.16 ms" in row
    assert "max 1 redeem call(s)" in row
    assert problems(figures()) == []


def test_a_second_redeem_or_a_refused_request_fails_the_row() -> None:
    """Exactly once is the row's point; refused requests would make its figures meaningless."""
    assert problems(figures(max_redeem_calls=2))
    assert problems(figures(failed=3))
