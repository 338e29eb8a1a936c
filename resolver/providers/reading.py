"""Reading back ends' answers leniently, the same way for every provider: a JSON object or a
clear `UpstreamBadAnswer`, a short message, text and objects that may be missing, and dates
that may be unset, zero or unreadable."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from resolver.domain.errors import UpstreamBadAnswer

if TYPE_CHECKING:
    import httpx

# How much of an upstream message is kept: enough to diagnose, never a whole HTML error page.
MESSAGE_LIMIT = 200
# gRPC's zero timestamp is how an unset date may come back.
ZERO_DATES = ("0001-01-01T00:00:00Z", "1970-01-01T00:00:00Z")


def json_object(response: httpx.Response) -> dict[str, Any]:
    """The answer's JSON object, or `UpstreamBadAnswer` when it is not one."""
    try:
        data = response.json()
    except ValueError as error:
        raise UpstreamBadAnswer(f"{response.status_code} answer is not JSON") from error
    if not isinstance(data, dict):
        raise UpstreamBadAnswer(f"{response.status_code} answer is not a JSON object")
    return data


def raw_text(response: httpx.Response) -> str:
    """The body as short text for a message, or the reason phrase when it is empty."""
    return response.text.strip()[:MESSAGE_LIMIT] or response.reason_phrase


def as_object(value: object) -> dict[str, Any]:
    """`value` when it is a JSON object, else an empty one (lenient reading)."""
    return value if isinstance(value, dict) else {}


def as_text(value: object) -> str:
    """`value` when it is a string, else "" (lenient reading)."""
    return value if isinstance(value, str) else ""


def parse_date(value: object) -> datetime | None:
    """An RFC 3339 timestamp, or None for unset, zero or unreadable values."""
    if not isinstance(value, str) or not value or value in ZERO_DATES:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None and parsed.year > 1970 else None
