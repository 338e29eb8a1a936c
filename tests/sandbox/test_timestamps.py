"""Timestamps formatted and parsed the way protojson does."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from resolver_sandbox.timestamps import format_timestamp, parse_timestamp


@pytest.mark.parametrize(
    ("microsecond", "text"),
    [
        (0, "2025-03-04T05:06:07Z"),
        (120_000, "2025-03-04T05:06:07.120Z"),
        (123_456, "2025-03-04T05:06:07.123456Z"),
    ],
)
def test_fraction_digits_are_0_3_or_6(microsecond: int, text: str) -> None:
    """Whole seconds have no fraction, milliseconds three digits, anything finer six."""
    moment = datetime(2025, 3, 4, 5, 6, 7, microsecond, tzinfo=UTC)
    assert format_timestamp(moment) == text


def test_other_offsets_are_written_in_utc() -> None:
    """A time in another zone is written as the same instant in UTC."""
    paris = timezone(timedelta(hours=2))
    assert format_timestamp(datetime(2025, 6, 1, 12, tzinfo=paris)) == "2025-06-01T10:00:00Z"


def test_unset_is_null() -> None:
    """An unset timestamp is JSON null."""
    assert format_timestamp(None) is None


def test_parse_accepts_z_and_offsets() -> None:
    """ "Z" and numeric offsets both parse to aware UTC."""
    assert parse_timestamp("2025-06-01T10:00:00Z") == datetime(2025, 6, 1, 10, tzinfo=UTC)
    assert parse_timestamp("2025-06-01T12:00:00+02:00") == datetime(2025, 6, 1, 10, tzinfo=UTC)


def test_parse_refuses_naive_times() -> None:
    """A time without an offset is refused rather than guessed."""
    with pytest.raises(ValueError, match="time zone"):
        parse_timestamp("2025-06-01T10:00:00")
