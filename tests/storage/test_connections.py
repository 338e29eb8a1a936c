"""Writes to Redis bounded in the caller's own task, failing as redis-py's own do."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

import pytest
import redis.asyncio.connection as redis_connection
from redis.asyncio import Redis

from resolver.domain.errors import StoreUnavailable
from resolver.storage.connections import BoundedWrites
from resolver.storage.redis import call, connect
from tests.support.redis_server import RedisServer

if TYPE_CHECKING:
    from pathlib import Path

# Far more than the kernel buffers for a socket: a write of it waits for the server to read.
LARGE = "x" * (64 * 1024 * 1024)


async def test_a_command_is_written_without_a_task_of_its_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """redis-py's `wait_for` (a task per write on Python 3.11) is never reached."""

    def no_task(*args: object, **kwargs: object) -> None:
        raise AssertionError("a write went through asyncio.wait_for")

    with RedisServer(tmp_path) as server:
        client = connect(server.url, max_connections=2, timeout=2.0)
        # The very module redis-py calls it through (the process's asyncio).
        monkeypatch.setattr(f"{redis_connection.__name__}.asyncio.wait_for", no_task)
        assert await call(client.set("k", "v"))
        assert await call(client.get("k")) == "v"
        assert isinstance(client, Redis)
        assert issubclass(client.connection_pool.connection_class, BoundedWrites)
        await client.aclose()


async def test_a_write_the_server_does_not_read_in_time_is_redis_unavailable(
    tmp_path: Path,
) -> None:
    """A server that stopped reading: the write gives up after the socket timeout, the
    connection is dropped, and the next command (the server back) works on a new one."""
    with RedisServer(tmp_path) as server:
        client = connect(server.url, max_connections=1, timeout=0.3)
        await call(client.ping())
        with server.frozen():
            started = time.monotonic()
            with pytest.raises(StoreUnavailable, match="TimeoutError"):
                await call(client.set("big", LARGE))
            waited = time.monotonic() - started
        assert 0.25 < waited < 2.0
        assert await call(client.ping())
        await client.aclose()
        await asyncio.sleep(0)
