"""An audit entry as the counter view reads it, and stream ids as they order."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from resolver.domain.counter import CounterEntry, stream_id

FIELDS = {
    "at": "1780000000123",
    "store": "paris",
    "outcome": "redeemed",
    "code": "K7WX",
    "employee": "ana",
    "staff_method": "pin",
    "offer": "offer-1",
    "campaign": "camp-1",
    "retry": "0",
}


def test_an_entry_reads_what_the_counter_shows() -> None:
    """Time from milliseconds, store, code, who, offer; a first answer is shown."""
    entry = CounterEntry.from_fields("1780000000123-0", FIELDS)
    assert entry is not None
    assert entry.at == datetime(2026, 5, 28, 20, 26, 40, 123_000, tzinfo=UTC)
    assert (entry.store, entry.code, entry.employee, entry.method) == (
        "paris",
        "K7WX",
        "ana",
        "pin",
    )
    assert entry.redeemed
    assert entry.shown


def test_a_repeat_is_read_but_not_shown() -> None:
    """retry=1 answered a repeat of an attempt the counter already lists."""
    entry = CounterEntry.from_fields("1-0", FIELDS | {"retry": "1"})
    assert entry is not None
    assert not entry.shown


def test_an_answer_from_the_stored_result_is_read_but_not_shown() -> None:
    """replay=1: a double tap or another phone answered from the result already listed."""
    entry = CounterEntry.from_fields("1-0", FIELDS | {"replay": "1"})
    assert entry is not None
    assert not entry.shown


@pytest.mark.parametrize("broken", [{"at": ""}, {"at": "soon"}, {"at": "9" * 30}, {"store": ""}])
def test_an_entry_without_a_time_or_a_store_is_skipped(broken: dict[str, str]) -> None:
    """Nothing half-read is listed."""
    assert CounterEntry.from_fields("1-0", FIELDS | broken) is None


def test_stream_ids_order_as_the_stream_does() -> None:
    """By milliseconds, then sequence; anything else is no id."""
    assert stream_id("1700000000000-2") == (1_700_000_000_000, 2)
    assert stream_id("999-10") > stream_id("999-9")  # type: ignore[operator]
    for bad in ("", "12", "1-", "-1", "a-1", "1-1-1", "1" * 50 + "-0"):
        assert stream_id(bad) is None
