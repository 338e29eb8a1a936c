"""The miss budget holds on every topology (the `limits` library's storage for each)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from resolver.domain.errors import RateLimited
from resolver.storage.ratelimit import MissBudget, parse_limit
from tests.support.topologies import redis_url_on_every_topology  # noqa: F401  # a fixture

if TYPE_CHECKING:
    from redis.asyncio import Redis


async def test_a_clients_misses_run_out_on_every_topology(redis: Redis) -> None:
    """Three misses a minute: the fourth check is refused with a Retry-After, others are not."""
    budget = MissBudget(redis, parse_limit("3/minute"))
    for _ in range(3):
        await budget.check("203.0.113.0/24")
        await budget.miss("203.0.113.0/24")
    with pytest.raises(RateLimited) as limited:
        await budget.check("203.0.113.0/24")
    assert 1 <= limited.value.retry_after <= 60
    await budget.check("198.51.100.0/24")
