"""Driving wrk to a count: the Lua script it runs and the result line it prints."""

from __future__ import annotations

import pytest
from resolver_bench.load import Load
from resolver_bench.wrk import RESULT_MARK, lua_script, parse_result

LOAD = Load(
    "http://127.0.0.1:1",
    "POST",
    "/api/v1/redeem",
    1000,
    10,
    body='{"externalId": "r-{n}", "campaignId": "bench"}',
    headers={"Content-Type": "application/json"},
)


def test_the_script_numbers_bodies_and_stops_at_the_count() -> None:
    """The body is split around the number, quoted for Lua, with the total and the headers."""
    script = lua_script(LOAD)
    assert "local total = 1000" in script
    assert (
        'local before, after = "{\\"externalId\\": \\"r-", "\\", \\"campaignId\\": \\"bench\\"}"'
        in script
    )
    assert '["Content-Type"] = "application/json"' in script
    assert "wrk.thread:stop()" in script
    assert "}\\n'," in script  # the result line's newline is escaped, not a raw line break


def test_the_result_line_becomes_figures_in_milliseconds() -> None:
    """Microseconds become milliseconds; requests never answered count as failed."""
    line = (
        f'{RESULT_MARK}{{"completed": 990, "failed": 3, "micros": 2000000, '
        '"p50": 51000, "p95": 60500, "p99": 70000}'
    )
    measured = parse_result(f"Running...\n{line}\n", "", LOAD)
    assert (measured.completed, measured.failed, measured.seconds) == (990, 13, 2.0)
    assert (measured.p50, measured.p95, measured.p99) == (51.0, 60.5, 70.0)


def test_no_result_line_raises_with_what_wrk_said() -> None:
    """A wrk that failed (bad URL, bad script) is reported in its own words."""
    with pytest.raises(RuntimeError, match="unable to connect"):
        parse_result("", "unable to connect to 127.0.0.1:1", LOAD)
