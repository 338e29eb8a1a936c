"""The audit stream as the counter view reads it: a store's latest entries, then each new one.

One reader per process tails `rr:audit` with `XREAD BLOCK` and hands each entry to the open
counter pages of its store, in memory: a hundred open pages cost one Redis connection, not a
hundred. The reader runs only while some page is open, and each blocking read is shorter than
the connection's socket timeout, so it is never cancelled mid-command (it notices that nobody
listens any more, or that the process stops, when its read returns).

A page that cannot keep up (its queue is full) is let go with a `None`: its stream ends, the
browser reconnects with the last id it got, and the page catches up from the stream itself
(`after`). Nothing here writes to the stream: its format and its writer are the audit trail's.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING, Any, cast

import structlog

from resolver.domain.counter import CounterEntry
from resolver.domain.errors import StoreUnavailable
from resolver.storage.redis import call

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from datetime import datetime

    from resolver.storage.topologies import Client

log = structlog.get_logger("resolver.audit_feed")

STREAM = "rr:audit"
# The latest entries are read newest first, this many at a time, at most MAX_SCANNED in all: a
# page opened at a busy chain's quiet store reads a bounded part of the stream, never all of it.
PAGE = 500
MAX_SCANNED = 5_000
# One blocking read brings at most READ_COUNT entries; a page holds up to QUEUE_SIZE not yet
# sent, so a burst that one read brings never overflows a page that keeps up.
READ_COUNT = 200
QUEUE_SIZE = 1_000
RETRY_SECONDS = 1.0


class Subscription:
    """One open page's entries, in stream order; `None` when it fell behind and was let go."""

    def __init__(self, store: str) -> None:
        self.store = store
        self.queue: asyncio.Queue[CounterEntry | None] = asyncio.Queue(QUEUE_SIZE)

    def offer(self, entry: CounterEntry | None) -> bool:
        """Hand over `entry`; False when the page's queue is full."""
        try:
            self.queue.put_nowait(entry)
        except asyncio.QueueFull:
            return False
        return True

    async def next(self) -> CounterEntry | None:
        """The next entry, waiting for it."""
        return await self.queue.get()


class AuditFeed:
    """Reads the audit stream for counter views: what was, then what comes, per store."""

    def __init__(self, redis: Client, *, block_ms: int, stream: str = STREAM) -> None:
        self.redis = redis
        self.block_ms = block_ms
        self.stream = stream
        self._subscribers: dict[str, set[Subscription]] = {}
        self._reader: asyncio.Task[None] | None = None
        self._starting = asyncio.Lock()
        self._closing = False

    async def recent(self, store: str, *, limit: int, since: datetime) -> list[CounterEntry]:
        """The store's latest `limit` entries since `since`, newest first."""
        found: list[CounterEntry] = []
        start, end, scanned = f"{int(since.timestamp() * 1000)}-0", "+", 0
        while len(found) < limit and scanned < MAX_SCANNED:
            batch = _replies(await call(self.redis.xrevrange(self.stream, end, start, count=PAGE)))
            scanned += len(batch)
            found += _shown(batch, store)
            if len(batch) < PAGE:
                break
            end = f"({batch[-1][0]}"
        return found[:limit]

    async def after(self, store: str, last_id: str, *, limit: int) -> list[CounterEntry]:
        """The store's entries after `last_id`, oldest first: what a reconnecting page missed."""
        reply = await call(self.redis.xrange(self.stream, f"({last_id}", "+", count=MAX_SCANNED))
        return _shown(_replies(reply), store)[-limit:]

    @contextlib.asynccontextmanager
    async def subscribe(self, store: str) -> AsyncIterator[Subscription]:
        """The store's new entries for as long as the context is open."""
        subscription = Subscription(store)
        self._subscribers.setdefault(store, set()).add(subscription)
        try:
            # One reader, however many pages open at once: the others wait while it starts.
            async with self._starting:
                if self._reader is None or self._reader.done():
                    # The stream's end is read before the page reads its past: nothing falls
                    # between the two.
                    start = await self._last_id()
                    self._reader = asyncio.create_task(
                        self._read(start), name="resolver-audit-feed"
                    )
            yield subscription
        finally:
            self._let_go(subscription)

    @property
    def listening(self) -> int:
        """How many pages are subscribed (for tests and the logs)."""
        return sum(len(pages) for pages in self._subscribers.values())

    async def close(self) -> None:
        """Stop reading; returns once the reader's current read has."""
        self._closing = True
        for pages in self._subscribers.values():
            for page in pages:
                page.offer(None)
        if self._reader is not None:
            with contextlib.suppress(StoreUnavailable):
                await self._reader

    async def _last_id(self) -> str:
        last = _replies(await call(self.redis.xrevrange(self.stream, "+", "-", count=1)))
        return last[0][0] if last else "0-0"

    async def _read(self, last: str) -> None:
        while self._subscribers and not self._closing:
            try:
                answer = await call(
                    self.redis.xread({self.stream: last}, block=self.block_ms, count=READ_COUNT)
                )
            except StoreUnavailable as error:  # Redis away: pages keep their list and wait
                log.warning("audit_feed_read_failed", error=type(error).__name__)
                await asyncio.sleep(RETRY_SECONDS)
                continue
            for _, entries in cast("list[tuple[str, Any]]", answer or []):
                for entry_id, fields in _replies(entries):
                    last = entry_id
                    entry = CounterEntry.from_fields(entry_id, fields)
                    if entry is not None and entry.shown:
                        self._fan_out(entry)
            await asyncio.sleep(0)  # the pages send what they were handed before the next read

    def _fan_out(self, entry: CounterEntry) -> None:
        for page in list(self._subscribers.get(entry.store, ())):
            if not page.offer(entry):
                # Full: let it go. It reconnects and catches up from the stream.
                self._let_go(page)
                with contextlib.suppress(asyncio.QueueEmpty):
                    page.queue.get_nowait()
                page.offer(None)

    def _let_go(self, page: Subscription) -> None:
        pages = self._subscribers.get(page.store, set())
        pages.discard(page)
        if not pages:  # the last page of its store: nobody listens for it any more
            self._subscribers.pop(page.store, None)


def _replies(reply: Any) -> list[tuple[str, dict[str, str]]]:
    """Stream entries as redis-py returns them on a connection that decodes replies."""
    return cast("list[tuple[str, dict[str, str]]]", reply or [])


def _shown(batch: list[tuple[str, dict[str, str]]], store: str) -> list[CounterEntry]:
    """The entries of `batch` that the counter view of `store` lists."""
    return [
        entry
        for entry_id, fields in batch
        if (entry := CounterEntry.from_fields(entry_id, fields))
        and entry.store == store
        and entry.shown
    ]
