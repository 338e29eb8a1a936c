"""The deliverer: a background task of every worker that sends the audit trail's events.

Every worker of every replica is one consumer of the Redis consumer group `rr:events` on the
stream `rr:audit`: XREADGROUP hands each entry to exactly one of them, which tries it at once on
every endpoint that wants its type, queues the failures for their retries (`retries`), and
acknowledges the entry. An entry read by a worker that died before acknowledging it stays
pending; XAUTOCLAIM hands it to a live worker once it has been idle for `STALE_SECONDS`.
Delivery is at least once: a receiver deduplicates by `webhook-id`, which an event keeps on
every try and replay.

The task uses its own Redis client and its own HTTP client; nothing on a member's request path
waits for it, whatever the endpoints do.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, cast

import structlog
from redis.exceptions import ResponseError

from resolver.domain.errors import StoreUnavailable
from resolver.events.catalogue import event_type
from resolver.events.retries import Pending, Retries
from resolver.storage.audit import STREAM, Entry
from resolver.storage.redis import call

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime

    from resolver.events.delivery import Sender, Tried
    from resolver.events.endpoints import Endpoint
    from resolver.storage.audit import AuditTrail
    from resolver.storage.topologies import Client

log = structlog.get_logger("resolver.events")
GROUP = "rr:events"
BATCH = 50  # entries read at once
BLOCK_SECONDS = 1.0  # how long a read waits for new entries
# An entry pending this long belongs to a worker that died: far longer than a batch can take.
STALE_SECONDS = 60.0
CLAIM_EVERY_SECONDS = 15.0
# A consumer idle this long with nothing pending is a worker that stopped: it leaves the group,
# so the group's list of consumers does not grow with every restart.
DEPARTED_SECONDS = 3_600.0
PAUSE_SECONDS = 1.0  # after Redis failed, before trying again


class Deliverer:
    """Reads the trail as one consumer of the group and delivers what it reads."""

    def __init__(  # the collaborators wiring hands over
        self,
        redis: Client,
        audit: AuditTrail,
        retries: Retries,
        sender: Sender,
        endpoints: tuple[Endpoint, ...],
        *,
        consumer: str,
        clock: Callable[[], datetime],
        block: float = BLOCK_SECONDS,
    ) -> None:
        self.redis = redis
        self.audit = audit
        self.retries = retries
        self.sender = sender
        self.endpoints = {endpoint.name: endpoint for endpoint in endpoints}
        self.consumer = consumer
        self._clock = clock
        self._claimed_at = 0.0
        self._block_ms = int(block * 1000)

    def _now_ms(self) -> int:
        return int(self._clock().timestamp() * 1000)

    async def run(self) -> None:
        """Deliver until cancelled; Redis failing only pauses it."""
        while True:
            try:
                await self.step()
            except StoreUnavailable as error:
                log.warning("events_paused", error=str(error))
                await asyncio.sleep(PAUSE_SECONDS)
            except Exception:  # a bug must not silently end every delivery of this worker
                log.exception("events_failed")  # logged with its traceback, then retried
                await asyncio.sleep(PAUSE_SECONDS)

    async def step(self) -> None:
        """One round: entries of dead workers, new entries, then the retries that are due."""
        entries = await self._stale()
        entries += await self._read(block=not entries)
        if entries:
            await asyncio.gather(*(self.first_try(entry) for entry in entries))
            # Acknowledged once tried and their failures queued: a crash before leaves them
            # pending for another worker.
            await call(self.redis.xack(STREAM, GROUP, *(entry.id for entry in entries)))
        await self.retry_due()

    async def ensure_group(self) -> None:
        """Create the group at the stream's end (history is for `resolver events replay`)."""
        try:
            await call(self.redis.xgroup_create(STREAM, GROUP, id="$", mkstream=True))
        except StoreUnavailable as error:
            if "BUSYGROUP" not in str(error.__cause__):  # else another worker made it first
                raise

    async def _read(self, *, block: bool) -> list[Entry]:
        streams: dict[Any, Any] = {STREAM: ">"}
        block_ms = self._block_ms if block else None
        try:
            reply = await call(
                self.redis.xreadgroup(GROUP, self.consumer, streams, count=BATCH, block=block_ms)
            )
        except StoreUnavailable as error:
            if _no_group(error):
                await self.ensure_group()
                return []
            raise
        found = cast("list[tuple[str, list[tuple[str, dict[str, str]]]]]", reply or [])
        return [Entry(entry_id, fields) for _, entries in found for entry_id, fields in entries]

    async def _stale(self) -> list[Entry]:
        """Entries another worker read and never acknowledged (it died), every so often."""
        loop = asyncio.get_running_loop()
        if loop.time() - self._claimed_at < CLAIM_EVERY_SECONDS:
            return []
        self._claimed_at = loop.time()
        try:
            reply = await call(
                self.redis.xautoclaim(
                    STREAM, GROUP, self.consumer, int(STALE_SECONDS * 1000), "0-0", count=BATCH
                )
            )
        except StoreUnavailable as error:
            if _no_group(error):
                await self.ensure_group()
                return []
            raise
        claimed = cast("list[tuple[str, dict[str, str] | None]]", reply[1])
        await self._forget_departed()
        return [Entry(entry_id, fields) for entry_id, fields in claimed if fields]

    async def _forget_departed(self) -> None:
        """Remove the consumers of workers long gone (their entries were claimed already)."""
        consumers = cast(
            "list[dict[str, Any]]", await call(self.redis.xinfo_consumers(STREAM, GROUP))
        )
        for consumer in consumers:
            gone = int(consumer["idle"]) >= DEPARTED_SECONDS * 1000 and not consumer["pending"]
            if gone and consumer["name"] != self.consumer:
                await call(self.redis.xgroup_delconsumer(STREAM, GROUP, consumer["name"]))

    async def first_try(self, entry: Entry) -> None:
        """Try the entry's event on every endpoint that wants it, and queue what failed."""
        kind = event_type(entry.fields)
        targets = [
            endpoint for endpoint in self.endpoints.values() if kind and endpoint.wants(kind)
        ]
        tries = await asyncio.gather(*(self.sender.send(target, entry) for target in targets))
        now = self._now_ms()
        for target, tried in zip(targets, tries, strict=True):
            if not tried.delivered:
                await self.retries.failed(
                    None, Pending(target.name, entry.id, 1), now, tried.problem
                )

    async def retry_due(self) -> None:
        """The waiting deliveries that are due, each leased to this worker while it tries."""
        lease_ms = int(STALE_SECONDS * 1000)
        due = await self.retries.take(self._now_ms(), lease_ms, BATCH)
        if due:
            await asyncio.gather(*(self._retry(pending) for pending in due))

    async def _retry(self, pending: Pending) -> None:
        endpoint = self.endpoints.get(pending.endpoint)
        entry = await self.audit.entry(pending.entry)
        if endpoint is None or entry is None or event_type(entry.fields) is None:
            # The endpoint was removed from the settings, or the entry left the trail.
            problem = "endpoint removed" if endpoint is None else "entry trimmed"
            log.warning("event_dropped", endpoint=pending.endpoint, reason=problem)
            last = Pending(pending.endpoint, pending.entry, len(self.retries.schedule) + 1)
            await self.retries.failed(pending, last, self._now_ms(), problem)
            return
        tried: Tried = await self.sender.send(endpoint, entry)
        if tried.delivered:
            await self.retries.done(pending)
            return
        nxt = Pending(pending.endpoint, pending.entry, pending.tries + 1)
        await self.retries.failed(pending, nxt, self._now_ms(), tried.problem)


def _no_group(error: StoreUnavailable) -> bool:
    """The group is gone (the stream was deleted, or Redis lost its data): create it again."""
    return isinstance(error.__cause__, ResponseError) and "NOGROUP" in str(error.__cause__)
