"""What the staff's counter view shows of one audit entry: a store's redemption as it happened.

The audit stream (`rr:audit`) holds one entry per settled redemption attempt, all fields
strings; the counter reads only what staff compare with the member's screen (when, which offer,
the verification code, who verified) and never the coupon's identity. An entry that cannot be
read (no time, no store) is skipped rather than shown half.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping

REDEEMED = "redeemed"
# "<ms>-<seq>", two 64-bit numbers at most.
MAX_STREAM_ID = 41


def stream_id(value: str) -> tuple[int, int] | None:
    """A stream entry id "<ms>-<seq>" as a pair that orders like the stream, or None."""
    ms, _, seq = value.partition("-")
    if len(value) > MAX_STREAM_ID or not (ms.isdigit() and seq.isdigit()):
        return None
    return int(ms), int(seq)


@dataclass(frozen=True, slots=True)
class CounterEntry:
    """One settled redemption attempt at one store, as the counter view lists it."""

    id: str  # the stream entry's id, "<ms>-<seq>": the order, and where a reconnect resumes
    at: datetime
    store: str
    outcome: str  # the domain Outcome's value, kept as text: a newer writer may add outcomes
    campaign: str = ""
    offer: str = ""
    code: str = ""  # the verification code the member's success screen shows
    employee: str = ""
    method: str = ""  # "pin", "store_code" or ""
    # The entry answered a repeat of an earlier attempt (`retry`), or answered from a result
    # already stored within the duplicate window (`replay`): either way, listed once before.
    retry: bool = False

    @property
    def redeemed(self) -> bool:
        return self.outcome == REDEEMED

    @classmethod
    def from_fields(cls, entry_id: str, fields: Mapping[str, str]) -> CounterEntry | None:
        """The entry as the audit stream holds it, or None when it names no time or store."""
        store = fields.get("store", "")
        try:
            at = datetime.fromtimestamp(int(fields.get("at", "")) / 1000, UTC)
        except (ValueError, OverflowError, OSError):
            return None
        if not store:
            return None
        return cls(
            id=entry_id,
            at=at,
            store=store,
            outcome=fields.get("outcome", ""),
            campaign=fields.get("campaign", ""),
            offer=fields.get("offer", ""),
            code=fields.get("code", ""),
            employee=fields.get("employee", ""),
            method=fields.get("staff_method", ""),
            retry="1" in (fields.get("retry", "0"), fields.get("replay", "0")),
        )

    @property
    def shown(self) -> bool:
        """Whether the counter lists it: a first answer, not the repeat of one already listed."""
        return not self.retry
