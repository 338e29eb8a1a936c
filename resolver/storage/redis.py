"""The one connection to Redis a process opens, and the one place Redis errors become the
service's own (`StoreUnavailable`): every adapter in `resolver.storage` goes through `call`.
"""

from __future__ import annotations

import os
import secrets
from typing import TYPE_CHECKING, TypeVar

from redis.asyncio import BlockingConnectionPool, Redis
from redis.exceptions import RedisError

from resolver.domain.errors import StoreUnavailable

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

T = TypeVar("T")
# Every connection of a resolver process carries a name starting so, so that processes can see
# each other in CLIENT LIST (`resolver.storage.memory`).
CLIENT_PREFIX = "resolver-"
# An idle connection is pinged before use after this long: a Redis that restarted or a
# balancer that dropped the connection is noticed before a claim is sent on it.
HEALTH_CHECK_SECONDS = 30


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


def client_name() -> str:
    """This process's name on its Redis connections."""
    return f"{CLIENT_PREFIX}{os.getpid()}-{secrets.token_hex(3)}"


def connect(url: str, *, max_connections: int, timeout: float, name: str | None = None) -> Redis:
    """A pool sized for the process's concurrency, with timeouts (redis-py's defaults are none).

    `name` names every connection (`CLIENT SETNAME`). The client owns the pool: closing the
    client closes it.
    """
    pool = BlockingConnectionPool.from_url(
        url,
        client_name=name,
        max_connections=max_connections,
        timeout=timeout,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        health_check_interval=HEALTH_CHECK_SECONDS,
        decode_responses=True,
    )
    return Redis.from_pool(pool)


async def shared_secret(redis: Redis) -> bytes:
    """The hashing secret when none is configured (the demo under a plain uvicorn): created
    once, shared by its workers. Real coupons always configure `RESOLVER_SECRET_KEY`, since a
    Redis that loses its data would lose this one too."""
    await call(redis.set("rr:secret", secrets.token_hex(32), nx=True))
    value = await call(redis.get("rr:secret"))
    if not value:
        raise StoreUnavailable("Redis did not keep rr:secret (is it evicting keys?)")
    return str(value).encode()
