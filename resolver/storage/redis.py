"""The one connection to Redis a process opens (its topology: `resolver.storage.topologies`),
and the one place Redis errors become the service's own (`StoreUnavailable`): every adapter in
`resolver.storage` goes through `call`.
"""

from __future__ import annotations

import os
import secrets
from typing import TYPE_CHECKING, Any, TypeVar

from redis.exceptions import NoScriptError, RedisError

from resolver.domain.errors import StoreUnavailable
from resolver.storage import pools, topologies

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Sequence

    from redis.commands.core import AsyncScript

    from resolver.storage.topologies import Client

    # One script to run in a pipeline: the script, its keys and its arguments.
    ScriptCall = tuple[AsyncScript, Sequence[str], Sequence[str | int]]

T = TypeVar("T")
# Every connection of a resolver process carries a name starting so, so that processes can see
# each other in CLIENT LIST (`resolver.storage.memory`).
CLIENT_PREFIX = "resolver-"
# The connection a process looks at Redis through before it serves (`resolver.storage.memory`).
STARTING_PREFIX = f"{CLIENT_PREFIX}starting-"


# Told of every Redis failure by its exception's name (the metrics, while an app runs with them
# on). A module's list rather than a parameter: `call` is the one translation every adapter of
# a process uses, whatever client it was handed.
error_watchers: list[Callable[[str], None]] = []


async def call(awaitable: Awaitable[T]) -> T:
    """`awaitable`'s result; a Redis failure of any kind becomes `StoreUnavailable`."""
    try:
        return await awaitable
    except RedisError as error:
        for watcher in error_watchers:
            watcher(type(error).__name__)
        raise StoreUnavailable(f"Redis: {type(error).__name__}") from error
    except (AttributeError, TypeError) as error:
        if not closed_under_a_write(error):
            raise  # a programmer's error, not Redis's
        for watcher in error_watchers:
            watcher("ConnectionError")
        raise StoreUnavailable("Redis: ConnectionError") from error


# Where a write on a connection the peer just closed fails inside redis-py 8.1 and asyncio.
TRANSPORT_FILES = (
    "redis/asyncio/connection.py",
    "asyncio/streams.py",
    "asyncio/selector_events.py",
)


def closed_under_a_write(error: BaseException) -> bool:
    """Whether `error` is redis-py 8.1's way of saying a connection was closed under a write
    (a TypeError or AttributeError out of the transport instead of a ConnectionError,
    redis/redis-py#4287): seen when a Cluster node goes away mid-run."""
    trace = error.__traceback__
    last = None
    while trace is not None:
        last, trace = trace, trace.tb_next
    return last is not None and last.tb_frame.f_code.co_filename.endswith(TRANSPORT_FILES)


def unreachable(error: BaseException) -> bool:
    """Whether `error` means Redis could not be reached or was lost mid-command (a failure to
    wait out and try again), rather than a bug."""
    if isinstance(error, RedisError | StoreUnavailable | OSError):
        return True
    return isinstance(error, AttributeError | TypeError) and closed_under_a_write(error)


def client_name() -> str:
    """This process's name on its Redis connections."""
    return f"{CLIENT_PREFIX}{os.getpid()}-{secrets.token_hex(3)}"


def starting_name(name: str) -> str:
    """The name of the connection a process named `name` looks through before it serves."""
    return STARTING_PREFIX + name.removeprefix(CLIENT_PREFIX)


def connect(url: str, *, max_connections: int, timeout: float, name: str | None = None) -> Client:
    """A client for the Redis `url` names (one server, Sentinel's master, or a Cluster), with
    bounded pools and timeouts; `name` names every connection (`CLIENT SETNAME`)."""
    return topologies.connect(url, max_connections=max_connections, timeout=timeout, name=name)


async def shared_secret(redis: Client) -> bytes:
    """The hashing secret when none is configured (the demo under a plain uvicorn): created
    once, shared by its workers. Real coupons always configure `RESOLVER_SECRET_KEY`, since a
    Redis that loses its data would lose this one too."""
    await call(redis.set("rr:secret", secrets.token_hex(32), nx=True))
    value = await call(redis.get("rr:secret"))
    if not value:
        raise StoreUnavailable("Redis did not keep rr:secret (is it evicting keys?)")
    return str(value).encode()


async def run_script(
    client: Client, script: AsyncScript, keys: Sequence[str], args: Sequence[str | int] = ()
) -> Any:
    """One script's reply, sent as a plain EVALSHA (redis-py's script object costs as much CPU
    again on every call); a server that does not know the script yet is taught it first."""
    command = ("EVALSHA", script.sha, len(keys), *keys, *args)
    return await call(_taught(client, script, command))


async def run_command(client: Client, *command: str | int) -> Any:
    """A plain command's reply (a page's GET or SET), sent the way `run_script` sends a
    script: its reply is as Redis gives it (`OK`, not redis-py's True) on one server or
    Sentinel's master."""
    return await call(_sent(client, command))


async def _taught(client: Client, script: AsyncScript, command: Sequence[Any]) -> Any:
    """The reply to `command`, an EVALSHA of `script`; a server that does not know the script
    yet (NOSCRIPT: it ran nothing) is taught it, and asked again."""
    try:
        return await _sent(client, command)
    except NoScriptError:
        await client.script_load(script.script)
        return await _sent(client, command)


async def _sent(client: Client, command: Sequence[Any]) -> Any:
    """`command`'s reply: on a connection of the pool's own lending on one server or
    Sentinel's master, through redis-py's command machinery on a Cluster."""
    pool = getattr(client, "connection_pool", None)
    if isinstance(pool, pools.BlockingPool):
        return await _written(pool, command)
    return await client.execute_command(*command)


def packed_command(command: Sequence[object]) -> bytes | None:
    """`command` in Redis's protocol, when its arguments are all text and integers (what the
    scripts are sent); None otherwise. Written here because redis-py's
    `pack_command` checks and encodes each argument on its own, three times the CPU."""
    parts = [f"*{len(command)}\r\n"]
    for argument in command:
        if isinstance(argument, str):
            text = argument
        elif type(argument) is int:  # not a bool, which redis-py refuses
            text = str(argument)
        else:
            return None
        size = len(text) if text.isascii() else len(text.encode())
        parts.append(f"${size}\r\n{text}\r\n")
    return "".join(parts).encode()


async def _written(pool: pools.BlockingPool, command: Sequence[Any]) -> Any:
    """`command` (an EVALSHA, or a page's GET or SET) sent and its reply read on a connection of
    `pool`, as redis-py's `execute_command` would with the service's settings (no retries; a
    connection that failed is dropped), without its per-command machinery, and written
    together with what else this process sends to `pool` at the same moment
    (`resolver.storage.writes`)."""
    packed = packed_command(command)
    if packed is None:  # the hot path sends text and integers only, as its signatures say
        raise TypeError(f"{command[0]}: only text and integers are sent this way")
    return await pool.writes.send(packed)


async def run_scripts(
    client: Client, calls: Sequence[ScriptCall], *, then: Sequence[str | int] = ()
) -> list[object]:
    """The replies of several scripts sent in one round trip (and the command `then`, when
    given, after them on the same connection), on one server or across a Cluster's nodes.

    Sent as EVALSHA by hand because redis-py refuses registered scripts in a Cluster's
    pipeline. A server that does not know a script yet (a new node, a replica just promoted)
    is taught it, and only the calls it refused (NOSCRIPT ran nothing) are sent again.
    """
    replies: list[object] = [None] * (len(calls) + (1 if then else 0))
    pending = list(range(len(calls)))
    for first in (True, False):
        pipe = client.pipeline(transaction=False)
        for index in pending:
            script, keys, args = calls[index]
            pipe.execute_command("EVALSHA", script.sha, len(keys), *keys, *args)
        if then:
            pipe.execute_command(*then)
        answers = list(await call(pipe.execute(raise_on_error=False)))
        for index, answer in zip([*pending, len(calls)], answers, strict=False):
            replies[index] = answer
        refused = [index for index in pending if isinstance(replies[index], NoScriptError)]
        if not (first and refused):
            break
        for script in {calls[index][0].sha: calls[index][0] for index in refused}.values():
            await call(client.script_load(script.script))
        pending = refused
    for reply in replies:
        if isinstance(reply, RedisError):
            raise StoreUnavailable(f"Redis: {type(reply).__name__}") from reply
    return replies
