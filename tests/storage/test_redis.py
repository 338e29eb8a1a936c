"""The one translation of Redis failures into the service's own."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import cast

import pytest
from redis.asyncio import Redis
from redis.asyncio.connection import Connection
from redis.commands.core import AsyncScript

from resolver.domain.errors import StoreUnavailable
from resolver.storage.redis import call, packed_command, run_script
from tests.support.transport import closed_write


async def test_a_connection_closed_under_a_write_is_redis_being_unavailable() -> None:
    """The transport's AttributeError is a lost connection: "try again", not a crash."""
    with pytest.raises(StoreUnavailable):
        await call(closed_write()())


async def test_a_programmers_attribute_error_is_not_hidden() -> None:
    """The same exception raised anywhere else is a bug, and stays one."""

    async def broken() -> None:
        raise AttributeError("no such attribute")

    with pytest.raises(AttributeError):
        await call(broken())


SCRIPT = "return {KEYS[1], ARGV[1], tonumber(ARGV[2]) + 1}"


async def test_a_script_runs_without_redis_pys_command_machinery(
    lent: Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A claim or a settle takes an idle connection, sends EVALSHA and reads the reply on it:
    redis-py's `execute_command` (its retry wrapper, observability hooks, pool waits) costs as
    much CPU again as the command itself on the hot path."""
    script = AsyncScript(lent, SCRIPT)
    assert await run_script(lent, script, ["k"], ["a", 1]) == ["k", "a", 2]  # taught (NOSCRIPT)

    async def refused(*_: object, **__: object) -> None:
        raise AssertionError("went through execute_command")

    monkeypatch.setattr(lent, "execute_command", refused)
    assert await run_script(lent, script, ["k"], ["b", 41]) == ["k", "b", 42]
    pool = lent.connection_pool
    assert len(pool._available_connections) == 1  # given back
    assert not pool._in_use_connections


async def test_a_script_the_server_forgot_is_taught_again(lent: Redis) -> None:
    script = AsyncScript(lent, SCRIPT)
    assert await run_script(lent, script, ["k"], ["a", 1]) == ["k", "a", 2]
    await lent.script_flush()
    assert await run_script(lent, script, ["k"], ["a", 2]) == ["k", "a", 3]


async def test_a_script_taught_again_is_sent_again_the_same_way(
    lent: Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After NOSCRIPT (the script ran nothing) the second send takes the same connection path
    as the first, not redis-py's command machinery; the connection goes back to the pool."""
    script = AsyncScript(lent, SCRIPT)
    await lent.script_flush()  # whatever an earlier test taught it
    loads: list[str] = []

    async def refused(*_: object, **__: object) -> None:
        raise AssertionError("went through execute_command")

    monkeypatch.setattr(lent, "execute_command", refused)
    monkeypatch.setattr(lent, "script_load", _loading(lent, loads))
    assert await run_script(lent, script, ["k"], ["a", 1]) == ["k", "a", 2]
    assert loads == [SCRIPT]  # NOSCRIPT came, and was answered once
    pool = lent.connection_pool
    assert len(pool._available_connections) == 1
    assert not pool._in_use_connections


def _loading(client: Redis, loads: list[str]) -> Callable[[str], Awaitable[str]]:
    """SCRIPT LOAD sent on a connection of its own, not through `execute_command`; each
    script loaded is kept in `loads`."""

    async def load(source: str) -> str:
        loads.append(source)
        connection = await client.connection_pool.get_connection()  # type: ignore[no-untyped-call]
        try:
            await connection.send_command("SCRIPT", "LOAD", source)
            return cast("str", await connection.read_response())
        finally:
            await client.connection_pool.release(connection)

    return load


@pytest.mark.parametrize(
    "command",
    [
        ("EVALSHA", "ab12", 2, "rr:s:{k}", "rr:m", "tok", 1764270000000, -5, 0),
        ("EVALSHA", "ab12", 1, "clé", "café ☕", ""),
    ],
)
def test_a_command_is_packed_as_redis_py_packs_it(command: tuple[str | int, ...]) -> None:
    connection = Connection()
    assert packed_command(command) == b"".join(connection.pack_command(*command))


@pytest.mark.parametrize("odd", [1.5, b"raw", True])
def test_arguments_other_than_text_and_integers_are_not_packed(odd: object) -> None:
    assert packed_command(("EVALSHA", "ab12", 1, "k", odd)) is None


@pytest.mark.parametrize("odd", [1.5, b"raw", True])
async def test_a_script_with_other_arguments_is_refused_before_anything_is_sent(
    lent: Redis, redis: Redis, odd: object
) -> None:
    """The hot path's signatures allow text and integers: anything else is a programmer's
    error, raised as one, with nothing written to Redis."""
    script = AsyncScript(lent, "return 1")
    calls = await _calls(redis, "evalsha")
    with pytest.raises(TypeError):
        await run_script(lent, script, ["k"], [odd])  # type: ignore[list-item]
    assert await _calls(redis, "evalsha") == calls


async def test_a_connection_idle_past_its_health_check_is_pinged_before_a_script(
    lent: Redis, redis: Redis
) -> None:
    script = AsyncScript(lent, "return 1")
    assert await run_script(lent, script, ["k"]) == 1
    (connection,) = lent.connection_pool._available_connections
    connection.next_health_check = 0  # idle for long
    pings = await _pings(redis)
    assert await run_script(lent, script, ["k"]) == 1
    assert await _pings(redis) == pings + 1


async def _pings(redis: Redis) -> int:
    return await _calls(redis, "ping")


async def _calls(redis: Redis, command: str) -> int:
    stats = await redis.info("commandstats")
    return int(stats.get(f"cmdstat_{command}", {}).get("calls", 0))
