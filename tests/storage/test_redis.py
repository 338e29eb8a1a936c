"""The one translation of Redis failures into the service's own."""

from __future__ import annotations

import pytest

from resolver.domain.errors import StoreUnavailable
from resolver.storage.redis import call

# A write on a connection closed under it, as redis-py 8.1 lets it out of asyncio's transport.
TRANSPORT = compile(
    "async def write():\n    None.writelines([b'PING'])\n",
    "/usr/lib/python3.11/asyncio/streams.py",
    "exec",
)


async def test_a_connection_closed_under_a_write_is_redis_being_unavailable() -> None:
    """The transport's AttributeError is a lost connection: "try again", not a crash."""
    namespace: dict[str, object] = {}
    exec(TRANSPORT, namespace)  # noqa: S102  # a function that seems to live in asyncio
    with pytest.raises(StoreUnavailable):
        await call(namespace["write"]())  # type: ignore[operator]


async def test_a_programmers_attribute_error_is_not_hidden() -> None:
    """The same exception raised anywhere else is a bug, and stays one."""

    async def broken() -> None:
        raise AttributeError("no such attribute")

    with pytest.raises(AttributeError):
        await call(broken())
