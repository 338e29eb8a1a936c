"""Wakes requests waiting for a redemption in flight when it settles, in a Redis Cluster.

In a Cluster, a classic PUBLISH is broadcast over the cluster bus to every node. Instead the
settle script announces a link on the link's own sharded channel (`SPUBLISH rr:{h}`, which
lives in the link's slot), and a process subscribes (`SSUBSCRIBE`) only to the links its
waiters wait for, on the node that owns each: a settle reaches the processes that wait for it,
through one node. redis-py's `ClusterPubSub` keeps one connection per node and follows slots
that move; this module adds the subscriptions' lifetimes and the local fan-out.

Each process also holds one subscription to the sharded channel `rr:settled`, on which nothing
is published: it keeps the process's listening connection open, and counting its subscribers
(`PUBSUB SHARDNUMSUB`) tells how many processes have finished starting, as the classic channel's
subscribers do on one server.

A link's subscription is made by its first local waiter and dropped a while after its last one
leaves (a busy coupon is not re-subscribed for every duplicate). As with `Notifier`, waiters
still re-check Redis on a short timer, so a message lost between a claim and the subscription,
or a broken connection, only makes them slower, never wrong.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from typing import TYPE_CHECKING

import structlog
from redis.exceptions import RedisError

from resolver.storage.notifier import backed_off, cancel_listening
from resolver.storage.redis import unreachable

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from redis.asyncio import RedisCluster
    from redis.asyncio.cluster import ClusterPubSub

log = structlog.get_logger("resolver.notifier")

# How long one read waits on each node's connection in turn: the added latency of a wake-up
# is at most this times the number of nodes with subscriptions.
SLICE_SECONDS = 0.02
# With nobody waiting, reads wait longer: an idle process wakes 4 times a second, not 50.
QUIET_SECONDS = 0.25
IDLE_SECONDS = 10.0
# Subscriptions without waiters are dropped this long after their last waiter left.
KEEP_SECONDS = 5.0


class ShardedNotifier:
    """Sharded subscriptions per waited-for link, fanned out to local waiters."""

    def __init__(self, redis: RedisCluster, channel: str) -> None:
        self._redis = redis
        self._channel = channel
        self._events: dict[str, asyncio.Event] = {}
        self._waiting: Counter[str] = Counter()
        self._left: dict[str, float] = {}  # a link with no waiter left → when it lost the last
        self._pubsub: ClusterPubSub | None = None
        self._wanted = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self.subscribed = asyncio.Event()
        self.on_reconnect: Callable[[], Awaitable[None]] | None = None

    async def start(self, wait: float = 2.0) -> None:
        """Learn the Cluster's slots, then listen in the background.

        The slots are learned first because redis-py 8.1 fails to subscribe on a Cluster
        client that has not run a command yet (redis/redis-py#4296).
        """
        assert self._task is None, "started twice"
        with contextlib.suppress(RedisError, OSError, TimeoutError):
            await asyncio.wait_for(self._redis.initialize(), wait)
        self._task = asyncio.create_task(self._listen(), name="resolver-sharded-notifier")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.subscribed.wait(), wait)

    async def stop(self) -> None:
        self._stopping = True
        task, self._task = self._task, None
        if task is not None:
            await cancel_listening(task)

    async def wait(self, name: str, at_most: float) -> None:
        """Return when `name` is announced as settled, or after `at_most` seconds."""
        event = self._events.setdefault(name, asyncio.Event())
        self._waiting[name] += 1
        self._left.pop(name, None)
        try:
            await self._subscribe(name)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), at_most)
        finally:
            self._waiting[name] -= 1
            if self._waiting[name] <= 0:
                del self._waiting[name]
                self._left[name] = time.monotonic()
                if self._events.get(name) is event:
                    del self._events[name]

    async def _subscribe(self, name: str) -> None:
        pubsub = self._pubsub
        if pubsub is None or name in pubsub.shard_channels:
            return
        try:
            await pubsub.ssubscribe(name)
        except Exception as error:
            if not unreachable(error):
                raise  # a bug, not Redis away
            # The timer still wakes the waiter; the listener reconnects by itself.
            log.warning("notifier_subscribe_failed", error=type(error).__name__)
            return
        self._wanted.set()

    async def _listen(self) -> None:
        failures = 0
        while not self._stopping:
            pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
            try:
                self._pubsub = pubsub
                for name in [self._channel, *self._waiting]:
                    await pubsub.ssubscribe(name)
                self.subscribed.set()
                if failures and self.on_reconnect is not None:
                    await self.on_reconnect()
                failures = 0
                await self._read(pubsub)
            except Exception as error:
                if not await backed_off(error, failures, self.subscribed, stopping=self._stopping):
                    return
                failures += 1
            finally:
                self._pubsub = None
                with contextlib.suppress(RedisError, OSError):
                    await pubsub.aclose()

    async def _read(self, pubsub: ClusterPubSub) -> None:
        while True:
            if not pubsub.shard_channels:
                self._wanted.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wanted.wait(), IDLE_SECONDS)
                continue
            message = await pubsub.get_sharded_message(
                ignore_subscribe_messages=True,
                timeout=SLICE_SECONDS if self._waiting else QUIET_SECONDS,
            )
            if message is not None and message.get("type") == "smessage":
                event = self._events.pop(str(message["data"]), None)
                if event is not None:
                    event.set()
            await self._prune(pubsub)

    async def _prune(self, pubsub: ClusterPubSub) -> None:
        """Drop the subscriptions nobody has waited on for a while."""
        now = time.monotonic()
        stale = [name for name, left in self._left.items() if now - left > KEEP_SECONDS]
        if not stale:
            return
        for name in stale:
            del self._left[name]
        await pubsub.sunsubscribe(*stale)
