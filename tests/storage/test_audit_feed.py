"""The audit stream as counter views read it: a store's latest entries, then each new one, one
reader per process however many pages are open."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from resolver.storage import redis as store_redis
from resolver.storage.audit_feed import QUEUE_SIZE, AuditFeed
from tests.support.audit import add_entry

if TYPE_CHECKING:
    from redis.asyncio import Redis

DAY_AGO = datetime.now(UTC) - timedelta(days=1)


def feed(redis: Redis) -> AuditFeed:
    return AuditFeed(redis, block_ms=200)


async def test_the_latest_entries_are_the_stores_own_newest_first(redis: Redis) -> None:
    """Other stores' entries, repeats and entries without a store are not listed."""
    first = await add_entry(redis, store="paris", code="AAAA")
    await add_entry(redis, store="lyon", code="BBBB")
    await add_entry(redis, store="paris", code="AAAA", retry=True)
    await add_entry(redis, store="", code="")
    second = await add_entry(redis, store="paris", code="CCCC")
    entries = await feed(redis).recent("paris", limit=10, since=DAY_AGO)
    assert [(entry.id, entry.code) for entry in entries] == [(second, "CCCC"), (first, "AAAA")]


async def test_the_latest_entries_are_bounded_by_count_and_age(redis: Redis) -> None:
    """At most `limit`, and nothing older than `since`."""
    old = int((time.time() - 3 * 86_400) * 1000)
    await add_entry(redis, code="OLD1", at_ms=old)
    for code in ("AAAA", "BBBB", "CCCC"):
        await add_entry(redis, code=code)
    reader = feed(redis)
    assert [e.code for e in await reader.recent("paris", limit=2, since=DAY_AGO)] == [
        "CCCC",
        "BBBB",
    ]
    # The stream's ids are the time the writer added them; the old entry was added now.
    since = datetime.now(UTC) + timedelta(seconds=5)
    assert await reader.recent("paris", limit=10, since=since) == []


async def test_a_quiet_store_is_found_beyond_one_page_of_busy_ones(redis: Redis) -> None:
    """Pages of 500 are read until the store's rows are found (or 5,000 entries were read)."""
    await add_entry(redis, store="quiet", code="QQQQ")
    async with redis.pipeline(transaction=False) as pipe:
        for _ in range(1_200):
            pipe.xadd("rr:audit", {"at": "1", "store": "busy", "outcome": "redeemed"})
        await pipe.execute()
    entries = await feed(redis).recent("quiet", limit=5, since=DAY_AGO)
    assert [entry.code for entry in entries] == ["QQQQ"]


async def test_after_an_id_come_the_entries_a_page_missed_oldest_first(redis: Redis) -> None:
    """What a reconnecting page catches up on."""
    seen = await add_entry(redis, code="AAAA")
    await add_entry(redis, code="BBBB")
    await add_entry(redis, store="lyon", code="LLLL")
    await add_entry(redis, code="CCCC")
    assert [e.code for e in await feed(redis).after("paris", seen, limit=10)] == ["BBBB", "CCCC"]


async def test_each_new_entry_reaches_the_open_pages_of_its_store_only(redis: Redis) -> None:
    """Two pages at Paris, one at Lyon: a Paris entry reaches both Paris pages, quickly."""
    reader = feed(redis)
    async with (
        reader.subscribe("paris") as one,
        reader.subscribe("paris") as two,
        reader.subscribe("lyon") as lyon,
    ):
        added = await add_entry(redis, store="paris", code="K7WX")
        async with asyncio.timeout(2):
            got = [await one.next(), await two.next()]
        assert [(entry.id, entry.code) for entry in got if entry] == [(added, "K7WX")] * 2
        assert lyon.queue.empty()
    await reader.close()


async def test_an_entry_added_as_a_page_subscribes_is_not_lost(redis: Redis) -> None:
    """The reader starts from the stream's end as it was when the page subscribed."""
    reader = feed(redis)
    async with reader.subscribe("paris") as page:
        added = await add_entry(redis, code="FAST")  # before the reader's first read, likely
        async with asyncio.timeout(2):
            entry = await page.next()
        assert entry is not None
        assert entry.id == added
    await reader.close()


async def test_many_open_pages_share_one_blocking_read(redis_url: str, redis: Redis) -> None:
    """Twenty pages at two stores: one connection of the process is reading the stream."""
    client = store_redis.connect(redis_url, max_connections=50, timeout=2, name="resolver-feed")
    reader = AuditFeed(client, block_ms=1_000)
    try:
        async with asyncio.TaskGroup() as pages:
            opened = asyncio.Event()
            done = asyncio.Event()

            async def page(store: str) -> None:
                async with reader.subscribe(store):
                    if reader.listening == 20:
                        opened.set()
                    await done.wait()

            for index in range(20):
                pages.create_task(page("paris" if index % 2 else "lyon"))
            await asyncio.wait_for(opened.wait(), 5)
            await asyncio.sleep(0.3)  # the reader is inside its blocking read
            listing = await redis.client_list()
            reading = [c for c in listing if c["name"] == "resolver-feed" and c["cmd"] == "xread"]
            done.set()
        assert len(reading) == 1
    finally:
        await reader.close()
        await client.aclose()


async def test_a_page_that_falls_behind_is_let_go(redis: Redis) -> None:
    """Its queue full, it gets None (its stream ends; the browser reconnects and catches up)."""
    reader = feed(redis)
    async with reader.subscribe("paris") as page:
        async with redis.pipeline(transaction=False) as pipe:
            for _ in range(QUEUE_SIZE + 5):
                pipe.xadd(
                    "rr:audit", {"at": str(int(time.time() * 1000)), "store": "paris", "code": "X"}
                )
            await pipe.execute()
        # The page reads nothing meanwhile; let go, it was the last, so the reader ends.
        assert reader._reader is not None
        await asyncio.wait_for(reader._reader, 5)
        assert reader.listening == 0
        held = [page.queue.get_nowait() for _ in range(page.queue.qsize())]
        assert held[-1] is None
        assert len(held) == QUEUE_SIZE
    await reader.close()


async def test_the_reader_stops_when_the_last_page_closes(redis: Redis) -> None:
    """No page open, no read: a deployment whose staff never open the view pays nothing."""
    reader = feed(redis)
    async with reader.subscribe("paris"):
        pass
    assert reader._reader is not None
    async with asyncio.timeout(2):
        await reader._reader
    assert reader.listening == 0
