"""Wakes requests waiting for a redemption in flight when it settles, in any process.

A duplicate tap that meets a claim in flight waits for its result. Rather than every waiter
polling Redis, each process keeps one pub/sub subscription to the channel the settle script
publishes on and wakes its local waiters by key. Waiters still re-check Redis on a short timer,
so a lost message or a broken subscription only makes them slower, never wrong.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from typing import TYPE_CHECKING, Protocol

import structlog
from redis.exceptions import RedisError

from resolver.storage.redis import unreachable

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from redis.asyncio import Redis

log = structlog.get_logger("resolver.notifier")

IDLE_SECONDS = 10.0
STOP_ATTEMPTS = 50
RECONNECT_SECONDS = (0.1, 0.5, 1.0, 2.0, 5.0)


class Wakeups(Protocol):
    """What the claim store needs of a notifier (this one, or the Cluster's sharded one)."""

    async def wait(self, name: str, at_most: float) -> None: ...


class Notifier:
    """One pub/sub subscription per process, fanned out to local waiters."""

    def __init__(self, redis: Redis, channel: str) -> None:
        self._redis = redis
        self._channel = channel
        self._events: dict[str, asyncio.Event] = {}
        self._waiting: Counter[str] = Counter()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self.subscribed = asyncio.Event()
        # Called after the subscription comes back from a broken connection (the server may
        # have restarted): the process checks whether Redis forgot what it held.
        self.on_reconnect: Callable[[], Awaitable[None]] | None = None

    async def start(self, wait: float = 2.0) -> None:
        """Subscribe in the background; give the subscription `wait` seconds to be ready."""
        assert self._task is None, "started twice"
        self._task = asyncio.create_task(self._listen(), name="resolver-notifier")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.subscribed.wait(), wait)

    async def stop(self) -> None:
        # Said first: a reconnection already under way must not start another subscription
        # on a client that is closing (it would fail, back off and try again for ever).
        self._stopping = True
        task, self._task = self._task, None
        if task is not None:
            await cancel_listening(task)

    async def restart(self) -> None:
        """Subscribe again from scratch: the server it listens to is no longer the master
        (Sentinel promoted another; the old one, now a replica, keeps its subscribers)."""
        if self._task is None or self._stopping:
            return
        await self.stop()
        self._stopping = False
        self._task = asyncio.create_task(self._listen(), name="resolver-notifier")
        log.warning("notifier_resubscribed")

    async def wait(self, name: str, at_most: float) -> None:
        """Return when `name` is announced as settled, or after `at_most` seconds."""
        event = self._events.setdefault(name, asyncio.Event())
        self._waiting[name] += 1
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), at_most)
        finally:
            self._waiting[name] -= 1
            if self._waiting[name] <= 0:
                del self._waiting[name]
                if self._events.get(name) is event:
                    del self._events[name]

    def _announce(self, name: str) -> None:
        event = self._events.pop(name, None)
        if event is not None:
            event.set()

    async def _listen(self) -> None:
        failures = 0
        while not self._stopping:
            pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self._channel)
                self.subscribed.set()
                if failures and self.on_reconnect is not None:
                    await self.on_reconnect()
                failures = 0
                while True:
                    # The pool's health_check_interval makes redis-py ping an idle
                    # subscription itself (an explicit ping here swallows cancellation).
                    message = await pubsub.get_message(timeout=IDLE_SECONDS)
                    if message is not None and message.get("type") == "message":
                        self._announce(str(message["data"]))
            except Exception as error:
                if not await backed_off(error, failures, self.subscribed, stopping=self._stopping):
                    return
                failures += 1
            finally:
                with contextlib.suppress(RedisError, OSError):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]  # redis-py lacks a hint


async def backed_off(
    error: Exception, failures: int, subscribed: asyncio.Event, *, stopping: bool
) -> bool:
    """After a subscriber's connection broke (its `failures`-th time in a row): a bug is raised
    again; otherwise the subscription is marked down and, unless the subscriber is stopping
    (False), the next try waits its turn of `RECONNECT_SECONDS`."""
    if not unreachable(error):
        raise error
    subscribed.clear()
    if stopping:
        return False
    delay = RECONNECT_SECONDS[min(failures, len(RECONNECT_SECONDS) - 1)]
    log.warning("notifier_reconnecting", error=type(error).__name__, delay=delay)
    await asyncio.sleep(delay)
    return True


async def cancel_listening(task: asyncio.Task[None]) -> None:
    """Cancel a subscriber's listening task until it really ends.

    redis-py can swallow a cancellation that lands while it (re)subscribes, so it is cancelled
    again until it ends (bounded: shutdown must never hang on this).
    """
    for _ in range(STOP_ATTEMPTS):
        task.cancel()
        done, _ = await asyncio.wait({task}, timeout=0.1)
        if done:
            return
    log.warning("notifier_not_stopped")
