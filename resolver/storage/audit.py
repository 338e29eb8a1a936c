"""The audit trail: one entry per settled redemption attempt in the Redis stream `rr:audit`.

The stream is one key. Outside a Cluster the settle script appends the entry itself; in a
Cluster the stream lives in one slot, apart from every coupon's keys, so the claim store queues
its XADD in the same pipeline as the settle (`RedisClaims.settle`). Either way the trail costs
the hot path no round trip of its own.
Entries older than the retention are trimmed by the XADD itself (`MINID ~`).

Every field is a string (docs/events.md lists them). An entry names its coupon by the link's
keyed hash; the raw externalId is added only when the deployment asks for it.

The trail is read, never written, by the outbound events (`resolver.events`) and by the export
(`resolver audit export`); this module owns writing and the one way to read a time range.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import chain
from typing import TYPE_CHECKING, Any, cast

from resolver.storage.redis import call

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from datetime import datetime

    from redis.asyncio.client import Pipeline
    from redis.asyncio.cluster import ClusterPipeline

    from resolver.domain.redemptions import Redemption
    from resolver.redemption.ports import AuditFacts
    from resolver.storage.topologies import Client

STREAM = "rr:audit"
# Fields in the order an export prints them.
FIELDS = (
    "at", "coupon", "campaign", "backend", "outcome", "coupon_id", "offer", "store", "employee",
    "staff_method", "reference", "code", "retry", "replay", "external_id",
    "transaction_reference", "transaction_amount",
)  # fmt: skip
PAGE = 500  # entries per XRANGE while reading a time range
DAY_MS = 86_400_000
Page = list[tuple[str, dict[str, str]]]  # what XRANGE answers (the client decodes replies)


def stream_id(at: datetime) -> str:
    """The smallest stream id at or after `at` (an entry's id starts with its time in ms)."""
    return f"{int(at.timestamp() * 1000)}-0"


@dataclass(frozen=True, slots=True)
class Entry:
    """One entry of the trail: its stream id and its fields."""

    id: str
    fields: dict[str, str]

    @property
    def at_ms(self) -> int:
        """When it settled, in ms since the epoch (from its stream id if the field is absent)."""
        at = self.fields.get("at", "")
        return int(at) if at.isdigit() else int(self.id.partition("-")[0])


class AuditTrail:
    """Writes the trail's entries (queued on a pipeline) and reads time ranges of it."""

    def __init__(self, redis: Client, *, retention_days: float, external_ids: bool = False) -> None:
        self.redis = redis
        self.retention_ms = int(retention_days * DAY_MS)
        self.external_ids = external_ids

    def fields(self, key: str, result: Redemption, facts: AuditFacts) -> dict[str, str]:
        """The entry for the attempt on link `key` that ended in `result`."""
        staff = facts.staff
        values = {
            "at": str(int(facts.at.timestamp() * 1000)),
            "coupon": key,
            "campaign": result.link.campaign_id,
            "backend": facts.backend,
            "outcome": result.outcome.value,
            "coupon_id": result.coupon_id or "",
            "offer": result.offer_id or "",
            "store": staff.store_id if staff else "",
            "employee": (staff.employee_id or "") if staff else "",
            "staff_method": staff.method if staff else "",
            "reference": result.receipt or "",
            "code": facts.code if result.receipt else "",
            "retry": "1" if facts.retry else "0",
            "replay": "1" if facts.replay else "0",
        }
        if result.transaction_reference:
            values["transaction_reference"] = result.transaction_reference
        if result.transaction_amount is not None:
            values["transaction_amount"] = str(result.transaction_amount)
        if self.external_ids:
            values["external_id"] = result.link.external_id
        return values

    def oldest_kept(self, fields: dict[str, str]) -> str:
        """The oldest stream id kept when the entry `fields` is appended: older ones are past
        the retention."""
        return f"{max(int(fields['at']) - self.retention_ms, 0)}-0"

    def script_args(self, fields: dict[str, str]) -> list[str]:
        """The entry as a settling script takes it (`resolver.storage.scripts`): the oldest id
        kept, then field/value pairs."""
        return [self.oldest_kept(fields), *chain.from_iterable(fields.items())]

    def queue(self, pipe: Pipeline | ClusterPipeline, fields: dict[str, str]) -> None:
        """Queue the entry's XADD on `pipe`, trimming what is older than the retention."""
        pipe.xadd(
            STREAM, cast("dict[Any, Any]", fields), minid=self.oldest_kept(fields), approximate=True
        )

    async def append(self, fields: dict[str, str]) -> str:
        """Write one entry by itself (tools and tests; the hot path queues it with its settle)."""
        pipe = self.redis.pipeline(transaction=False)
        self.queue(pipe, fields)
        (entry_id,) = await call(pipe.execute())
        return str(entry_id)

    async def entries(
        self, since: datetime | str = "-", until: datetime | str = "+"
    ) -> AsyncIterator[Entry]:
        """The entries settled from `since` (inclusive) to `until` (exclusive), oldest first;
        a string is a stream id ("-" and "+" the two ends)."""
        start = stream_id(since) if not isinstance(since, str) else since
        end = f"({stream_id(until)}" if not isinstance(until, str) else until
        while True:
            page = cast("Page", await call(self.redis.xrange(STREAM, start, end, count=PAGE)))
            for entry_id, fields in page:
                yield Entry(entry_id, fields)
            if len(page) < PAGE:
                return
            start = f"({page[-1][0]}"

    async def entry(self, entry_id: str) -> Entry | None:
        """The entry `entry_id`, or None when it was trimmed."""
        found = cast("Page", await call(self.redis.xrange(STREAM, entry_id, entry_id, count=1)))
        return Entry(*found[0]) if found else None
