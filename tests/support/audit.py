"""Audit entries for tests of the counter view, written as the audit trail writes them.

Until the audit trail's writer is part of the service, tests add what it would have written to
`rr:audit` themselves: one entry per settled redemption attempt, every field a string, in the
shared format (the time in milliseconds, the store and employee ids, the verification code).
"""

from __future__ import annotations

import importlib.util
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from redis.asyncio import Redis

STREAM = "rr:audit"


def writer_present() -> bool:
    """Whether the service writes the audit stream itself (`resolver.storage.audit`)."""
    return importlib.util.find_spec("resolver.storage.audit") is not None


async def add_entry(
    redis: Redis,
    *,
    store: str = "paris",
    code: str = "K7WX",
    outcome: str = "redeemed",
    employee: str = "",
    at_ms: int | None = None,
    offer: str = "",
    campaign: str = "camp-1",
    retry: bool = False,
) -> str:
    """Append one settled attempt to the audit stream, as the writer would; its entry id."""
    fields = {
        "at": str(at_ms if at_ms is not None else int(time.time() * 1000)),
        "coupon": "c" * 16,
        "campaign": campaign,
        "backend": "passkit",
        "outcome": outcome,
        "coupon_id": "coupon-1",
        "offer": offer,
        "store": store,
        "employee": employee,
        "staff_method": "pin" if employee else ("store_code" if store else ""),
        "reference": "r" * 33,
        "code": code,
        "retry": "1" if retry else "0",
    }
    return str(await redis.xadd(STREAM, fields))  # type: ignore[arg-type]  # str fields are fine
