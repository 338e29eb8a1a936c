"""What the storage tests share."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import cast

import pytest
from redis.asyncio import Redis

from resolver.storage import topologies


@pytest.fixture
async def lent(redis_url: str) -> AsyncIterator[Redis]:
    """A client with one connection, so that every call takes and gives back the same one."""
    client = cast("Redis", topologies.connect(redis_url, max_connections=1, timeout=2.0))
    yield client
    await client.aclose()
