"""A write on a connection closed under it, as redis-py 8.1 lets it out of asyncio's transport
(an AttributeError raised from asyncio's own file, not a ConnectionError)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, cast

TRANSPORT = compile(
    "async def write(*args, **kwargs):\n    None.writelines([b'PING'])\n",
    "/usr/lib/python3.11/asyncio/streams.py",
    "exec",
)


def closed_write() -> Callable[..., Awaitable[Any]]:
    """A coroutine function that fails as a write on a closed connection does."""
    namespace: dict[str, object] = {}
    exec(TRANSPORT, namespace)  # noqa: S102  # a function that seems to live in asyncio
    return cast("Callable[..., Awaitable[Any]]", namespace["write"])
