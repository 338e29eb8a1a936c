"""Wrong staff codes counted in Redis: per coupon link and per client, taken before checking."""

from __future__ import annotations

import asyncio

import pytest
from redis.asyncio import Redis

from resolver.domain.errors import VerificationLocked
from resolver.storage.lockout import Lockout
from resolver.storage.topologies import memory_markers
from tests.support.topologies import redis_url_on_every_topology  # noqa: F401  # a fixture

COUPON = "5ogbvwqxreb3fyt2"
MARKERS = ["rr:m", *memory_markers(cluster=True)]


def lockout(redis: Redis, period: float = 60, per_coupon: int = 3, per_client: int = 10) -> Lockout:
    return Lockout(redis, b"secret", per_coupon=per_coupon, per_client=per_client, period=period)


async def test_each_try_counts_down_and_the_last_one_locks(redis: Redis) -> None:
    """3 per coupon: 2, 1, 0 tries left, then locked for the period, with Retry-After."""
    tries = lockout(redis)
    lefts = [(await tries.take(COUPON, "203.0.113.9")).left for _ in range(3)]
    assert lefts == [2, 1, 0]
    with pytest.raises(VerificationLocked) as locked:
        await tries.take(COUPON, "198.51.100.7")  # another client, the same coupon
    assert 55 <= locked.value.retry_after <= 60


async def test_a_right_code_gives_its_try_back(redis: Redis) -> None:
    """Redeeming with a right code after two wrong ones leaves the count where it was."""
    tries = lockout(redis)
    for _ in range(2):
        await tries.take(COUPON, "203.0.113.9")
    taken = await tries.take(COUPON, "203.0.113.9")
    await tries.give_back(taken)
    assert (await tries.take(COUPON, "203.0.113.9")).left == 0


async def test_a_client_is_locked_across_coupons(redis: Redis) -> None:
    """Ten wrong codes from one address, one per coupon, lock that address out everywhere."""
    tries = lockout(redis, per_client=10)
    for n in range(10):
        await tries.take(f"coupon{n:012d}", "203.0.113.9")
    with pytest.raises(VerificationLocked):
        await tries.take("anothercoupon000", "203.0.113.9")
    assert (await tries.take("anothercoupon000", "198.51.100.7")).left == 2


async def test_a_lock_on_one_counter_gives_back_the_other_try(redis: Redis) -> None:
    """Refused for the coupon, the client's try is not spent."""
    tries = lockout(redis, per_coupon=1, per_client=3)
    await tries.take(COUPON, "203.0.113.9")
    for _ in range(3):
        with pytest.raises(VerificationLocked):
            await tries.take(COUPON, "203.0.113.9")
    assert await redis.get(tries.client_key("203.0.113.9")) == "1"


async def test_guesses_sent_at_once_get_no_more_tries(redis: Redis) -> None:
    """Fifty simultaneous tries for one coupon: exactly the limit are taken, the rest locked."""
    tries = lockout(redis, per_coupon=3, per_client=1000)
    answers = await asyncio.gather(
        *(tries.take(COUPON, f"203.0.113.{n}") for n in range(50)), return_exceptions=True
    )
    assert sum(not isinstance(answer, VerificationLocked) for answer in answers) == 3


async def test_the_keys_share_the_links_hash_tag_and_hold_no_address(redis: Redis) -> None:
    """The coupon's counter lives in its link's slot; the client's is named by a keyed hash."""
    await lockout(redis).take(COUPON, "203.0.113.9")
    keys = sorted({key async for key in redis.scan_iter(match="rr:*")} - set(MARKERS))
    assert f"rr:{{{COUPON}}}:v" in keys
    assert all("203.0.113.9" not in key for key in keys)
    assert [await redis.pttl(key) > 0 for key in keys] == [True, True]


async def test_a_lock_ends_after_its_period(redis: Redis) -> None:
    """With a one-second period, the coupon may be tried again once it has passed."""
    tries = lockout(redis, period=1, per_coupon=1)
    await tries.take(COUPON, "203.0.113.9")
    with pytest.raises(VerificationLocked):
        await tries.take(COUPON, "203.0.113.9")
    # Waiting out the period is the behaviour under test, not synchronisation.
    await asyncio.sleep(max(await redis.pttl(f"rr:{{{COUPON}}}:v"), 0) / 1000 + 0.05)
    assert (await tries.take(COUPON, "203.0.113.9")).left == 0
