"""Scripts sent to one pool in the same turn of the event loop share a write and a round trip,
and each caller gets its own reply, or its own failure, whatever happens to the others."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import pytest
from redis.commands.core import AsyncScript
from redis.exceptions import ConnectionError as RedisConnectionError

from resolver.domain.errors import StoreUnavailable
from resolver.storage.redis import run_script

if TYPE_CHECKING:
    from redis.asyncio import Redis

ECHO = "return {KEYS[1], ARGV[1]}"
# Busy inside Redis for about 0.2 s, so that a caller can be cancelled with its reply on the way.
SLOW = (
    "local t = redis.call('TIME'); while true do "
    "local n = redis.call('TIME'); if (n[1] - t[1]) * 1000000 + n[2] - t[2] "
    "> 200000 then return 'slow' end end"
)


async def _reads(redis: Redis) -> int:
    """How many times the server has read from its clients' sockets."""
    stats = await redis.info("stats")
    return int(stats["total_reads_processed"])


async def test_scripts_sent_while_a_write_is_on_its_way_share_the_next_one(
    lent: Redis, redis: Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Idle, a script goes out at once. While a write's replies are on their way, the scripts
    sent in the same turn (a request's claim and its client's budget check, or requests in
    flight together) go out together on one connection: Redis reads them at once and answers
    each in order."""
    script = AsyncScript(lent, ECHO)
    await lent.script_load(ECHO)
    pool = lent.connection_pool
    lends = 0
    lend = pool.lend  # type: ignore[attr-defined]

    async def counted() -> object:
        nonlocal lends
        lends += 1
        return await lend()

    monkeypatch.setattr(pool, "lend", counted)
    before = await _reads(redis)
    replies = await asyncio.gather(
        *(run_script(lent, script, [f"k{n}"], [f"a{n}"]) for n in range(4))
    )
    after = await _reads(redis)
    assert replies == [["k0", "a0"], ["k1", "a1"], ["k2", "a2"], ["k3", "a3"]]
    assert lends == 2  # the first alone, at once; the other three together
    assert after - before == 3  # two writes, and the second INFO
    assert len(pool._available_connections) == 1  # given back
    assert not pool._in_use_connections


async def test_one_scripts_error_is_its_own(lent: Redis) -> None:
    """A script that fails (or one Redis does not know yet) in a shared write fails alone: the
    others sent with it get their replies, and the connection stays in use."""
    await lent.script_flush()  # so that `good` is certainly unknown
    slow, _ = await _slow_and_echo(lent)
    good = AsyncScript(lent, "return {KEYS[1], ARGV[1], 'good'}")
    bad = AsyncScript(lent, "return redis.call('NOSUCHCOMMAND')")
    await lent.script_load(bad.script)
    first = asyncio.create_task(run_script(lent, slow, ["s"]))  # alone, holding the connection
    await asyncio.sleep(0)
    results = await asyncio.gather(
        run_script(lent, bad, ["b"]),
        run_script(lent, good, ["g"], ["x"]),  # NOSCRIPT: taught, and sent again
        return_exceptions=True,
    )
    assert await first == "slow"
    assert isinstance(results[0], StoreUnavailable)
    assert str(results[0]) == "Redis: ResponseError"  # the script's error, not a lost connection
    assert results[1] == ["g", "x", "good"]
    (connection,) = lent.connection_pool._available_connections
    assert connection.is_connected


async def test_a_caller_cancelled_mid_reply_gives_up_only_its_own_wait(lent: Redis) -> None:
    """A caller that joined another's write and is cancelled with its reply on the way stops
    waiting; the reply is still read (and dropped), the caller leading the write gets its own,
    and the connection goes back with nothing left in it."""
    slow, echo = await _slow_and_echo(lent)
    first = asyncio.create_task(run_script(lent, slow, ["s"]))  # alone, holding the connection
    await asyncio.sleep(0)
    leading = asyncio.create_task(run_script(lent, echo, ["o"], ["kept"]))
    cancelled = asyncio.create_task(run_script(lent, slow, ["s"]))  # joins `leading`'s write
    await asyncio.sleep(0.3)  # `first` answered; the second write is in Redis
    cancelled.cancel()
    with pytest.raises(asyncio.CancelledError):
        await cancelled
    assert await first == "slow"
    assert await leading == ["o", "kept"]
    assert await run_script(lent, echo, ["q"], ["mine"]) == ["q", "mine"]
    (connection,) = lent.connection_pool._available_connections
    assert connection.is_connected  # nothing left in it to drop it for


async def test_the_leading_caller_cancelled_mid_reply_drops_the_connection(lent: Redis) -> None:
    """The caller that leads a write reads the replies in its own task: cancelled on the way
    (a process stopping), it drops the connection, never lent again with a stale reply in it,
    and the callers that joined its write are told the connection was lost (their scripts may
    or may not have run, as when Redis goes away)."""
    slow, echo = await _slow_and_echo(lent)
    first = asyncio.create_task(run_script(lent, slow, ["s"]))  # alone, holding the connection
    await asyncio.sleep(0)
    leading = asyncio.create_task(run_script(lent, slow, ["s"]))
    joined = asyncio.create_task(run_script(lent, echo, ["o"], ["lost"]))
    await asyncio.sleep(0.3)  # `first` answered; the second write is in Redis
    (connection,) = lent.connection_pool._in_use_connections
    leading.cancel()
    with pytest.raises(asyncio.CancelledError):
        await leading
    with pytest.raises(StoreUnavailable):
        await joined
    assert await first == "slow"
    assert not connection.is_connected
    await asyncio.sleep(0.3)
    assert await run_script(lent, echo, ["q"], ["mine"]) == ["q", "mine"]


async def _slow_and_echo(client: Redis) -> tuple[AsyncScript, AsyncScript]:
    slow, echo = AsyncScript(client, SLOW), AsyncScript(client, ECHO)
    await client.script_load(SLOW)
    await client.script_load(ECHO)
    return slow, echo


async def test_a_connection_broken_under_a_write_fails_every_caller_on_it(
    lent: Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The replies never come (the connection broke after the write): each caller sent with
    it is told Redis is unavailable (its script may or may not have run), and the connection
    is dropped, not lent again."""
    script = AsyncScript(lent, ECHO)
    assert await run_script(lent, script, ["k"], ["a"]) == ["k", "a"]
    pool = lent.connection_pool
    (connection,) = pool._available_connections

    async def broken(*_: object, **__: object) -> None:
        raise RedisConnectionError("Connection closed by server.")

    monkeypatch.setattr(connection, "read_response", broken)
    results = await asyncio.gather(
        run_script(lent, script, ["k"], ["b"]),
        run_script(lent, script, ["k"], ["c"]),
        return_exceptions=True,
    )
    assert all(isinstance(result, StoreUnavailable) for result in results)
    assert not connection.is_connected
    assert not pool._in_use_connections
