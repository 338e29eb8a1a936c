"""The one translation of Redis failures into the service's own."""

from __future__ import annotations

import pytest

from resolver.domain.errors import StoreUnavailable
from resolver.storage.redis import call
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
