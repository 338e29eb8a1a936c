"""RFC 3339 timestamps the way protojson writes them: UTC, a "Z", and 0, 3 or 6 fraction digits."""

from __future__ import annotations

from datetime import UTC, datetime


def utc_now() -> datetime:
    """The current time as an aware UTC datetime (the default clock of `SandboxState`)."""
    return datetime.now(UTC)


def format_timestamp(moment: datetime | None) -> str | None:
    """`moment` as protojson formats a Timestamp, or None (JSON null) when unset."""
    if moment is None:
        return None
    if moment.utcoffset():
        moment = moment.astimezone(UTC)
    base = (
        f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}"
        f"T{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}"
    )
    micro = moment.microsecond
    if micro == 0:
        return base + "Z"
    if micro % 1000 == 0:
        return f"{base}.{micro // 1000:03d}Z"
    return f"{base}.{micro:06d}Z"


def parse_timestamp(text: str) -> datetime:
    """An RFC 3339 timestamp with an offset ("Z" or "+01:00") as aware UTC; ValueError if not."""
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError(f"timestamp {text!r} has no time zone offset")
    return moment.astimezone(UTC)
