"""While a write to one pool has its replies on the way, the commands sent to it in the next
turn of the event loop go out together: one write on one connection, one read by Redis, their
replies read back in order, each to its own caller. Idle, a command goes at once, since a
turn's wait would then be all cost.

Near saturation, a request's claim and its client's budget check, or the scripts of requests
in flight at the same moment, so share a write, and Redis reads once for all of them. redis-py
has no such mode (its pipelines are built by one caller), hence this small piece: the hot
path's commands are already packed by hand (`resolver.storage.redis.packed_command`), so what
is left is the order of replies, which Redis keeps on a connection.

The caller that leads a write reads every reply in its own task and hands each to its caller.
A caller that joined the write and is cancelled gives up only its own wait: its reply is
still read, and dropped. The leading caller cancelled on the way (a process stopping) drops
the connection, never lent again with a stale reply in it, and the callers that joined it
are told the connection was lost, as when Redis goes away: their commands may or may not
have run, which every caller of the store already allows for.
"""

from __future__ import annotations

import asyncio
import copy
from typing import TYPE_CHECKING, Any

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

if TYPE_CHECKING:
    from redis.asyncio.connection import AbstractConnection

    from resolver.storage.pools import BlockingPool

# One command waiting to go out: its bytes, and where its reply goes.
Queued = tuple[bytes, "asyncio.Future[Any]"]


class Writes:
    """The commands waiting to be written to one pool in this turn of the event loop."""

    def __init__(self, pool: BlockingPool) -> None:
        self._pool = pool
        self._queued: list[Queued] = []
        self._exchanging = 0  # writes whose replies are on their way
        self._exchanges: set[asyncio.Task[None]] = set()  # kept, so none is collected mid-way

    async def send(self, packed: bytes) -> Any:
        """The reply to `packed` (one command in Redis's protocol), written with whatever else
        is sent to this pool in the same turn; an error reply or a lost connection is raised
        as redis-py raises it."""
        reply: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._queued.append((packed, reply))
        if len(self._queued) > 1:  # another caller leads this turn's write
            return await reply
        try:
            if self._exchanging:
                # Busy: others are likely to send in this turn too, so they are given it to
                # join the write. Idle, the write goes at once: a turn's wait would be all cost.
                await asyncio.sleep(0)
        except asyncio.CancelledError:
            others = [(packed, future) for packed, future in self._take() if future is not reply]
            if others:  # sent all the same, by a task of their own
                task = asyncio.get_running_loop().create_task(self._exchange(others))
                self._exchanges.add(task)
                task.add_done_callback(self._exchanges.discard)
            raise
        self._exchanging += 1
        try:
            await self._exchange(self._take())
        except asyncio.CancelledError:
            if reply.done():
                reply.exception()  # told, and gone: nothing else will ask
            raise
        finally:
            self._exchanging -= 1
        return reply.result()

    def _take(self) -> list[Queued]:
        queued, self._queued = self._queued, []
        return queued

    async def _exchange(self, queued: list[Queued]) -> None:
        """Write `queued` on one connection and hand each reply to its caller. A failure is
        told to every caller still waiting, and drops the connection; a cancellation is
        raised again once they are told."""
        try:
            connection = await self._pool.lend()
        except BaseException as error:
            _fail(queued, error)
            _raise_if_stopping(error)
            return
        waiting = list(queued)
        try:
            await _send(connection, b"".join(packed for packed, _ in queued))
            while waiting:
                _, reply = waiting[0]
                try:
                    answer = await connection.read_response()
                except ResponseError as error:  # the command failed; the connection is fine
                    answer = error
                waiting.pop(0)
                if not reply.done():  # its caller may have stopped waiting
                    if isinstance(answer, ResponseError):
                        reply.set_exception(answer)
                    else:
                        reply.set_result(answer)
        except BaseException as error:
            # A reply may still be on the way: the connection is dropped, never lent again
            # with a stale reply in it, and every caller still waiting is told.
            await connection.disconnect()
            await self._pool.release(connection)
            _fail(waiting, error)
            _raise_if_stopping(error)
            return
        await self._pool.take_back(connection)


def _raise_if_stopping(error: BaseException) -> None:
    """Re-raise a cancellation (or an exit); any other failure has been told to every caller,
    and ends the exchange quietly."""
    if not isinstance(error, Exception):
        raise error


def _fail(queued: list[Queued], error: BaseException) -> None:
    """Each caller in `queued` still waiting gets `error` (a Redis error its own copy of it); a
    caller cannot tell whether its command ran, as with any connection lost under a command."""
    for _, reply in queued:
        if reply.done():
            continue
        if isinstance(error, RedisError):
            reply.set_exception(copy.copy(error))
        elif isinstance(error, asyncio.CancelledError):  # the leading caller, or the process
            reply.set_exception(RedisConnectionError("Connection dropped: the write was cancelled"))
        else:
            # As it came: its traceback says whether it is a socket closed under a write
            # (`resolver.storage.redis.closed_under_a_write`) or a bug.
            reply.set_exception(error)


async def _send(connection: AbstractConnection, packed: bytes) -> None:
    """`packed` written on `connection` (connected, as the pool lends it) as
    `send_packed_command` writes it, pinged first when it has been idle long; the write is
    bounded by the socket timeout only when the socket did not take it at once: redis-py
    bounds every write with `asyncio.wait_for`, which wraps it in a task of its own even when
    nothing waits."""
    await connection.check_health()  # type: ignore[no-untyped-call]
    writer = connection._writer
    assert writer is not None
    try:
        writer.write(packed)
        if writer.transport.get_write_buffer_size():
            await asyncio.wait_for(writer.drain(), connection.socket_timeout)
    except TimeoutError as error:
        raise RedisTimeoutError("Timeout writing to socket") from error
    except OSError as error:
        raise RedisConnectionError(f"Error while writing to socket: {error}") from error
