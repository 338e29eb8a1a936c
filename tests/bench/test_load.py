"""Loads and their figures: numbered bodies and nearest-rank percentiles."""

from __future__ import annotations

from resolver_bench.load import Load, Measured, percentile


def test_each_request_gets_its_own_number_in_the_body() -> None:
    """NUMBER is replaced by the request's number, JSON braces left alone."""
    load = Load("http://x", "POST", "/", 3, 1, body='{"externalId": "r-{n}"}')
    assert load.body_for(7) == '{"externalId": "r-7"}'


def test_percentiles_are_nearest_rank() -> None:
    """p50 of 1..100 is 50, p99 is 99, p100 the maximum; an empty list gives 0."""
    ordered = [float(value) for value in range(1, 101)]
    assert (percentile(ordered, 50), percentile(ordered, 99), percentile(ordered, 100)) == (
        50.0,
        99.0,
        100.0,
    )
    assert percentile([3.0], 99) == 3.0
    assert percentile([], 50) == 0.0


def test_rate_is_answers_per_second() -> None:
    """500 answers in 0.5 s is 1,000 a second; no time at all is no rate."""
    assert Measured(500, 0, 0.5, 1, 2, 3).rate == 1000
    assert Measured(0, 0, 0.0, 0, 0, 0).rate == 0
