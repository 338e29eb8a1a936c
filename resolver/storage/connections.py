"""Redis connections that bound a write without a task of its own.

redis-py bounds each command's write with `asyncio.wait_for`, which on Python 3.11 wraps the
write in a new task: a task, a timer and a future per command, a few per cent of a worker's
CPU on the hot path (docs/performance.md). `asyncio.timeout` bounds the same write in the
caller's own task. This is the one method redis-py does it in, rewritten with it; every other
behaviour, the errors included, is redis-py's (Python 3.12's `wait_for` makes no task either,
so this can go with 3.11).
"""

from __future__ import annotations

import asyncio
import builtins
from typing import TYPE_CHECKING

from redis.asyncio.connection import AbstractConnection
from redis.exceptions import ConnectionError  # redis-py's own
from redis.exceptions import TimeoutError as RedisTimeoutError

if TYPE_CHECKING:
    from collections.abc import Iterable

    from redis.asyncio.connection import ConnectionPool


class BoundedWrites(AbstractConnection):
    """A connection whose writes are bounded by `socket_timeout` in the caller's task."""

    async def send_packed_command(
        self, command: bytes | str | Iterable[bytes], check_health: bool = True
    ) -> None:
        if not self.socket_timeout:
            await super().send_packed_command(command, check_health)
            return
        if not self.is_connected:
            await self.connect_check_health(check_health=False)
        if check_health:
            await self.check_health()  # type: ignore[no-untyped-call]  # redis-py lacks a hint
        if isinstance(command, str):
            command = command.encode()
        if isinstance(command, bytes):
            command = [command]
        try:
            async with asyncio.timeout(self.socket_timeout):
                self._writer.writelines(command)  # type: ignore[union-attr]
                await self._writer.drain()  # type: ignore[union-attr]
        except builtins.TimeoutError:
            await self.disconnect(nowait=True)
            raise RedisTimeoutError("Timeout writing to socket") from None
        except OSError as error:
            await self.disconnect(nowait=True)
            number, message = ("UNKNOWN", error.args[0]) if len(error.args) == 1 else error.args[:2]
            raise ConnectionError(f"Error {number} while writing to socket. {message}.") from error
        except BaseException:
            # A write cut short leaves the connection unusable, as redis-py reasons.
            await self.disconnect(nowait=True)
            raise


def bound_writes(pool: ConnectionPool) -> None:
    """Make `pool` open connections of its kind (TCP, TLS, Unix socket, Sentinel's) with
    `BoundedWrites`; connections are opened lazily, so none exists yet."""
    kind = pool.connection_class
    if not issubclass(kind, BoundedWrites):
        if kind not in _BOUNDED:
            _BOUNDED[kind] = type(kind.__name__, (BoundedWrites, kind), {})
        pool.connection_class = _BOUNDED[kind]


# One subclass per kind of connection, made once.
_BOUNDED: dict[type[AbstractConnection], type[AbstractConnection]] = {}
