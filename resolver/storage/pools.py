"""The connection pools of a client on one server or Sentinel's master: redis-py's blocking pool
(a caller waits up to its timeout for a free connection rather than failing at once), with a
way in and out that the scripts of the hot path take (`resolver.storage.redis`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from redis.asyncio import BlockingConnectionPool
from redis.asyncio.sentinel import SentinelConnectionPool
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from resolver.storage.writes import Writes

if TYPE_CHECKING:
    from redis.asyncio.connection import AbstractConnection


class BlockingPool(BlockingConnectionPool):
    """redis-py's pool that waits for a free connection, taking one without the decorator
    redis-py wraps `get_connection` in: it collects the call's arguments into a dict on every
    command, to warn about arguments deprecated since 5.3 that the service never passes."""

    get_connection = BlockingConnectionPool.get_connection.__wrapped__  # type: ignore[attr-defined]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.writes = Writes(self)  # the hot path's commands, written together per turn

    # The two methods below are the hot path's way in and out of the pool. redis-py's own
    # acquires a condition, a lock and a timeout and awaits its observability hooks on every
    # command, which costs as much CPU as the command itself; when a connection is idle and
    # nobody waits for one (the usual case), taking it is a list operation. Anything else
    # (all busy, someone waiting, a connection to renew) goes the library's own way.

    async def lend(self) -> AbstractConnection:
        """A connected connection, as `get_connection` gives one."""
        if not self._available_connections or self._condition._waiters or self._in_maintenance:
            connection: AbstractConnection = await self.get_connection()
            return connection
        connection = self._available_connections.pop()
        self._in_use_connections.add(connection)
        try:
            if not await _ready(connection):
                await self.ensure_connection(connection)  # reconnects a connection Redis closed
        except BaseException:
            await self.release(connection)
            raise
        return connection

    async def take_back(self, connection: AbstractConnection) -> None:
        """`connection` back among the idle ones, as `release` puts it. The release event
        redis-py also dispatches serves only credential providers, which the service has none
        of (its password comes in the URL)."""
        if self._condition._waiters or self._in_maintenance or connection.should_reconnect():  # type: ignore[no-untyped-call]
            await self.release(connection)
            return
        self._in_use_connections.remove(connection)
        self._available_connections.append(connection)


async def _ready(connection: AbstractConnection) -> bool:
    """Whether `connection` is connected with nothing left to read, which is all the pool's
    `ensure_connection` checks when it is; asked directly, since that check first calls
    `connect`, which wraps even a connected connection's no-op in a retry and two closures.
    A connection that is not (or whose socket fails the check) goes the library's way."""
    if not connection.is_connected:
        return False
    try:
        return not await connection.can_read()
    except (RedisConnectionError, RedisTimeoutError, OSError):
        return False


class BlockingSentinelPool(SentinelConnectionPool, BlockingPool):
    """Sentinel's pool that waits for a free connection (up to its `timeout`) instead of
    failing at once when all are busy, like the standalone pool; closing it closes the
    connections to the Sentinels too (redis-py leaves them open)."""

    async def disconnect(self, inuse_connections: bool = True) -> None:
        await super().disconnect(inuse_connections)
        if inuse_connections:  # closing, not following a new master
            for sentinel in self.sentinel_manager.sentinels:
                await sentinel.connection_pool.disconnect()
