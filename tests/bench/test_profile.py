"""Sorting py-spy's samples into the parts of the stack a request passes through."""

from __future__ import annotations

from dataclasses import replace

from resolver_bench.profile import OTHER, part_of, summarise
from resolver_bench.report import render

from tests.bench.test_report import FIGURES

ROOT = ["run (uvicorn/server.py:1)", "redeem (resolver/web/api.py:2)"]
STACK = ";".join(ROOT)


def test_a_library_doing_a_whole_job_owns_what_it_calls() -> None:
    """JSON rendered inside the logger is logging; inside httpx, the upstream client."""
    logged = [*ROOT, "info (structlog/_native.py:3)", "dumps (json/__init__.py:4)"]
    sent = [*ROOT, "send (httpx/_client.py:5)", "dumps (json/__init__.py:4)"]
    assert part_of(logged) == "logging"
    assert part_of(sent) == "upstream client"
    assert part_of([*ROOT, "evalsha (redis/commands/core.py:6)"]) == "Redis client"


def test_the_services_own_redis_and_upstream_wire_work_is_theirs() -> None:
    """The script's own send and the pool's lending are the Redis client, whatever asyncio
    frames run below them; the service's HTTP/1.1 connection is the upstream client."""
    write = "write (asyncio/streams.py:8)"
    claim = [
        *ROOT,
        "claim (resolver/storage/claims.py:7)",
        "run_script (resolver/storage/redis.py:9)",
    ]
    assert part_of([*claim, "_written (resolver/storage/redis.py:10)", write]) == "Redis client"
    assert part_of([*claim, "_exchange (resolver/storage/writes.py:14)", write]) == "Redis client"
    assert part_of([*claim, "lend (resolver/storage/pools.py:11)"]) == "Redis client"
    assert part_of([*ROOT, "exchange (resolver/providers/http1.py:12)"]) == "upstream client"
    reading = [*ROOT, "data_received (resolver/providers/http1_connection.py:13)"]
    assert part_of(reading) == "upstream client"


def test_otherwise_the_innermost_frame_that_names_a_part_decides() -> None:
    settle = [*ROOT, "settle (resolver/storage/claims.py:7)", "dumps (json/__init__.py:4)"]
    assert part_of(settle) == "JSON"
    assert part_of(ROOT) == "endpoints and web helpers"
    assert part_of(["<module> (x.py:1)"]) == OTHER


def test_a_profile_counts_samples_per_part_and_renders_as_a_table() -> None:
    lines = [
        f"{STACK};send (httpx/_client.py:5) 30",
        f"{STACK};evalsha (redis/commands/core.py:6) 10",
        "not a sample line",
    ]
    profile = summarise(lines)
    assert profile.samples == 40
    assert profile.parts == [("upstream client", 30), ("Redis client", 10)]
    report = render(replace(FIGURES, profiles={"JSON redemption": profile}, profile_dir="d"))
    assert "| upstream client | 75.0 % |" in report
    assert "raw stacks     d" in report
