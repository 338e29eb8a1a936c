"""`resolver audit export` and `resolver events …` as an operator runs them."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest

from resolver.cli import main
from resolver.cli.audit import COLUMNS, export
from resolver.storage.audit import STREAM
from tests.conftest import settings_for

if TYPE_CHECKING:
    from redis.asyncio import Redis

AT = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)


async def add(redis: Redis, at: datetime, **fields: str) -> None:
    ms = int(at.timestamp() * 1000)
    entry: dict[Any, Any] = {"at": str(ms), **fields}
    await redis.xadd(STREAM, entry, id=f"{ms}-0")


async def test_the_csv_export_has_a_header_and_one_row_per_entry_in_range(
    redis: Redis, redis_url: str
) -> None:
    """Columns id, time, then the documented fields; --since inclusive, --until exclusive."""
    for minute, outcome in enumerate(["redeemed", "expired", "redeemed"]):
        await add(redis, AT + timedelta(minutes=minute), outcome=outcome, store="paris")
    out = io.StringIO()
    settings = settings_for(redis_url)
    count = await export(settings, AT, AT + timedelta(minutes=2), "csv", out)
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert count == 2
    assert tuple(rows[0]) == COLUMNS
    assert [(r["time"], r["outcome"], r["store"]) for r in rows] == [
        ("2026-05-04T12:00:00.000Z", "redeemed", "paris"),
        ("2026-05-04T12:01:00.000Z", "expired", "paris"),
    ]


def test_a_replay_without_endpoints_is_refused(
    redis_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Nothing would send it: exit status 2 and one line saying why."""
    monkeypatch.setenv("RESOLVER_REDIS_URL", redis_url)
    monkeypatch.chdir("/")  # no .env
    with pytest.raises(SystemExit) as stopped:
        main(["events", "replay", "--dead"])
    assert stopped.value.code == 2
    assert "RESOLVER_WEBHOOKS" in capsys.readouterr().err


def test_the_export_as_json_lines_from_the_command(
    redis_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`resolver audit export --format jsonl`: one object per line, the count on stderr."""
    monkeypatch.setenv("RESOLVER_REDIS_URL", redis_url)
    monkeypatch.chdir("/")
    with pytest.raises(SystemExit) as stopped:
        main(["audit", "export", "--since", "2000-01-01", "--format", "jsonl"])
    assert stopped.value.code == 0
    captured = capsys.readouterr()
    assert all(json.loads(line)["id"] for line in captured.out.splitlines())
    assert captured.err.strip().endswith("entries")
