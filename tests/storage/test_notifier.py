"""Waiters wake when a settlement is published, and time out when none comes."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

import pytest

from resolver.storage.notifier import Notifier

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from redis.asyncio import Redis


@pytest.fixture
async def notifier(redis: Redis) -> AsyncIterator[Notifier]:
    notifier = Notifier(redis, "test-channel")
    await notifier.start()
    assert notifier.subscribed.is_set()
    yield notifier
    await notifier.stop()


async def test_a_published_key_wakes_its_waiters(notifier: Notifier, redis: Redis) -> None:
    """Every local waiter on a key wakes at once when the key is announced."""
    waiters = [asyncio.create_task(notifier.wait("rr:{k}", 5.0)) for _ in range(3)]
    await asyncio.sleep(0.05)
    started = time.monotonic()
    await redis.publish("test-channel", "rr:{k}")
    await asyncio.gather(*waiters)
    assert time.monotonic() - started < 1.0


async def test_a_waiter_returns_after_its_bound_when_nothing_comes(notifier: Notifier) -> None:
    """No message: the wait ends at its bound (the caller then re-checks Redis)."""
    started = time.monotonic()
    await notifier.wait("rr:{silent}", 0.1)
    assert 0.09 <= time.monotonic() - started < 1.0


async def test_other_keys_do_not_wake_a_waiter(notifier: Notifier, redis: Redis) -> None:
    """Announcements are per key."""
    waiter = asyncio.create_task(notifier.wait("rr:{mine}", 0.3))
    await asyncio.sleep(0.05)
    await redis.publish("test-channel", "rr:{other}")
    await asyncio.sleep(0.1)
    assert not waiter.done()
    await waiter


async def test_stop_ends_the_subscription(redis: Redis) -> None:
    """Stopping returns promptly even right after starting."""
    notifier = Notifier(redis, "test-channel")
    await notifier.start(wait=0)
    started = time.monotonic()
    await notifier.stop()
    assert time.monotonic() - started < 2.0
