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
    assert 1 <= limited.value.retry_after <= 61
    await budget.check("198.51.100.0/24")


CLIENT = "203.0.113.0/24"


def _counters(amount: int) -> tuple[str, str]:
    """The client's current and previous counters, in its own Cluster slot, named by the
    limit (`amount` a minute)."""
    current = f"rr:miss:{{{CLIENT}}}:{amount}/60"
    return current, f"{current}:previous"


async def _travel(redis: Redis, seconds: float, amount: int) -> None:
    """Move the client's counters `seconds` on, as Redis's clock would: every key's time left
    shrinks by as much."""
    for key in _counters(amount):
        left = await redis.pttl(key)
        if left > 0:
            await redis.pexpire(key, max(1, left - int(seconds * 1000)))


async def _refused_until_its_retry_after(budget: MissBudget, redis: Redis, amount: int) -> int:
    """The client is refused now and still a second before its Retry-After has passed (on
    Redis's clock), and let in once it has; its Retry-After."""
    with pytest.raises(RateLimited) as limited:
        await budget.check(CLIENT)
    retry_after = limited.value.retry_after
    await _travel(redis, retry_after - 2, amount=amount)
    with pytest.raises(RateLimited):
        await budget.check(CLIENT)
    await _travel(redis, 2, amount=amount)
    await budget.check(CLIENT)
    return retry_after


async def test_a_full_window_lets_one_more_in_once_it_has_ended(redis: Redis) -> None:
    """Three misses: refused until the window ends (a minute after the first miss), then let
    in, the previous window's three counting for the part of it still inside the last
    minute."""
    budget = MissBudget(redis, parse_limit("3/minute"))
    for _ in range(3):
        await budget.miss(CLIENT)
    # The first second after the window's end.
    assert await _refused_until_its_retry_after(budget, redis, amount=3) in (60, 61)


async def test_the_previous_windows_misses_fade_as_the_window_slides(redis: Redis) -> None:
    """Four misses, a window ended 6 s ago: 0.9 of them still count (3), so one more fits; then
    the budget is full again until 3 of the previous 4 fit in what is left, 9 s later."""
    budget = MissBudget(redis, parse_limit("4/minute"))
    for _ in range(4):
        await budget.miss(CLIENT)
    await _travel(redis, 66, amount=4)
    await budget.check(CLIENT)
    await budget.miss(CLIENT)
    assert await _refused_until_its_retry_after(budget, redis, amount=4) in (9, 10)


async def test_a_spent_budget_counts_no_more_misses(redis: Redis) -> None:
    """Misses past the budget (requests that passed the check together) are not counted: a
    client over its budget does not extend its own wait. A counter lives two windows."""
    budget = MissBudget(redis, parse_limit("3/minute"))
    for _ in range(5):
        await budget.miss(CLIENT)
    current, _ = _counters(3)
    assert await redis.get(current) == "3"
    assert 119_000 < await redis.pttl(current) <= 120_000
