"""In a Redis Cluster, a settle wakes its waiters through the link's own sharded channel."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, cast

import pytest
from redis.asyncio import RedisCluster

from resolver.redemption.ports import ClaimKind
from resolver.storage.claims import CHANNEL, RedisClaims
from resolver.storage.sharded_notifier import ShardedNotifier
from tests.support.transport import closed_write

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from redis.asyncio import Redis
    from resolver_sandbox.redis_topologies import RedisClusterNodes


@pytest.fixture
def redis_url(cluster_nodes: RedisClusterNodes) -> str:
    return cluster_nodes.url


@pytest.fixture
async def notifier(redis: Redis) -> AsyncIterator[ShardedNotifier]:
    notifier = ShardedNotifier(cast("RedisCluster", redis), CHANNEL)
    await notifier.start()
    assert notifier.subscribed.is_set()
    yield notifier
    await notifier.stop()


async def test_a_sharded_announcement_wakes_the_links_waiters(
    notifier: ShardedNotifier, redis: Redis
) -> None:
    """Every local waiter on a link wakes at once when its channel is announced."""
    waiters = [asyncio.create_task(notifier.wait("rr:{k}", 5.0)) for _ in range(3)]
    await asyncio.sleep(0.1)
    started = time.monotonic()
    await cast("RedisCluster", redis).spublish("rr:{k}", "rr:{k}")
    await asyncio.gather(*waiters)
    assert time.monotonic() - started < 1.0


async def test_another_links_announcement_does_not_wake_a_waiter(
    notifier: ShardedNotifier, redis: Redis
) -> None:
    """Announcements are per link, on per-link channels."""
    waiter = asyncio.create_task(notifier.wait("rr:{mine}", 0.5))
    await asyncio.sleep(0.1)
    await cast("RedisCluster", redis).spublish("rr:{other}", "rr:{other}")
    await asyncio.sleep(0.1)
    assert not waiter.done()
    await waiter


async def test_every_process_counts_as_a_subscriber_once_started(
    notifier: ShardedNotifier, redis: Redis
) -> None:
    """What `resolver bench` and the end-to-end tests wait for, as on one server."""
    counts = await cast("RedisCluster", redis).pubsub_shardnumsub(CHANNEL)
    assert counts == [(CHANNEL, 1)]


async def test_a_settle_in_the_cluster_wakes_a_waiter_in_another_process(
    notifier: ShardedNotifier, redis: Redis
) -> None:
    """The settle script announces on the link's slot (SPUBLISH from Lua), not to every node."""
    store = RedisClaims(redis)
    assert store.cluster
    from tests.storage.test_claims import DONE, LINK, claim, settle  # noqa: PLC0415

    await claim(store, "k1", "a", "n1")
    assert (await claim(store, "k1", "b", "n2")).kind is ClaimKind.BUSY  # as a waiter does
    waiter = asyncio.create_task(notifier.wait("rr:{k1}", 5.0))
    await asyncio.sleep(0.1)
    started = time.monotonic()
    await settle(store, "k1", "a", "n1", "done", DONE, link=LINK)
    await waiter
    assert time.monotonic() - started < 1.0


async def test_a_subscription_cut_under_its_write_still_lets_the_waiter_wait(
    notifier: ShardedNotifier, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A node going away mid-subscribe fails redis-py's write with an AttributeError from
    asyncio's transport: the waiter is not told of it, and its timer still wakes it."""
    assert notifier._pubsub is not None
    monkeypatch.setattr(notifier._pubsub, "ssubscribe", closed_write())
    started = time.monotonic()
    await notifier.wait("rr:{cut}", 0.2)
    assert 0.15 < time.monotonic() - started < 2.0
