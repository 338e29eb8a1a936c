"""The blocking pool's way in and out for the scripts: an idle connection is lent as it is
only when it is ready; anything else goes through redis-py's own checks."""

from __future__ import annotations

import asyncio

import pytest
from redis.asyncio import Redis
from redis.commands.core import AsyncScript

from resolver.storage.redis import run_script


async def test_an_idle_connection_closed_under_the_pool_is_renewed_before_a_script(
    lent: Redis,
) -> None:
    """A connection that died while idle is noticed when lent, and connected again: the
    script is not sent into it."""
    script = AsyncScript(lent, "return 1")
    assert await run_script(lent, script, ["k"]) == 1
    pool = lent.connection_pool
    (connection,) = pool._available_connections
    assert connection._writer is not None
    old_writer = connection._writer
    old_writer.transport.abort()
    await asyncio.sleep(0.01)
    assert await run_script(lent, script, ["k"]) == 1
    assert connection._writer is not None
    assert connection._writer is not old_writer
    assert not pool._in_use_connections


async def test_a_connected_idle_connection_is_lent_without_redis_pys_connect(
    lent: Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A connection that is connected with nothing left to read is ready as it is: redis-py's
    `connect` would wrap its no-op in a retry and two closures on every call."""
    script = AsyncScript(lent, "return 1")
    assert await run_script(lent, script, ["k"]) == 1
    (connection,) = lent.connection_pool._available_connections

    async def refused(*_: object, **__: object) -> None:
        raise AssertionError("connect called for a connected connection")

    monkeypatch.setattr(connection, "connect", refused)
    assert await run_script(lent, script, ["k"]) == 1


async def test_an_idle_connection_with_a_reply_left_in_it_is_renewed_before_a_script(
    lent: Redis,
) -> None:
    """Bytes waiting on an idle connection are a reply nobody read: the connection is renewed,
    and the script reads its own reply."""
    script = AsyncScript(lent, "return 'own'")
    assert await run_script(lent, script, ["k"]) == "own"
    (connection,) = lent.connection_pool._available_connections
    await connection.send_command("ECHO", "stale")
    await asyncio.sleep(0.05)  # the stale reply arrives while the connection is idle
    old_writer = connection._writer
    assert await run_script(lent, script, ["k"]) == "own"
    assert connection._writer is not old_writer


async def test_a_script_waits_for_the_one_connection_in_use(lent: Redis) -> None:
    """Calls beyond the pool's connections wait their turn, as redis-py's pool makes them."""
    script = AsyncScript(lent, "redis.call('SET', KEYS[1], ARGV[1]); return ARGV[1]")
    replies = await asyncio.gather(*(run_script(lent, script, [f"w{n}"], [n]) for n in range(20)))
    assert replies == [str(n) for n in range(20)]
