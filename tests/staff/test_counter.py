"""Opening a store's counter view: its code or its staff's PINs, the staff lockout's rules."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from redis.asyncio import Redis

from resolver.domain.errors import VerificationFailed, VerificationLocked
from resolver.domain.redemptions import Attribution
from resolver.staff import directory
from resolver.staff.counter import CounterAccess
from resolver.storage.lockout import Lockout
from tests.conftest import Clock
from tests.support.staff import OTHER_PIN, PIN, staff_toml, store_code

CLIENT = "203.0.113.9"
NOW = datetime(2026, 6, 1, 12, 3, tzinfo=UTC)
COUPON = "5ogbvwqxreb3fyt2"


def lockout(redis: Redis) -> Lockout:
    return Lockout(redis, b"secret", per_coupon=3, per_client=5, period=60)


def access(redis: Redis, tries: Lockout | None = None) -> CounterAccess:
    return CounterAccess(
        directory.parse(staff_toml()),
        tries or lockout(redis),
        drift=1,
        clock=Clock(frozen=NOW),
    )


async def test_the_stores_code_opens_it(redis: Redis) -> None:
    """The code of the moment names the store, and no employee."""
    who = await access(redis).verify("paris", store_code(NOW), CLIENT)
    assert who == Attribution("paris", "Paris Opéra")


async def test_a_pin_of_the_stores_staff_opens_it_and_names_them(redis: Redis) -> None:
    """Ana works at Paris: her PIN opens Paris, as Ana."""
    who = await access(redis).verify("paris", PIN, CLIENT)
    assert who == Attribution("paris", "Paris Opéra", "ana", "Ana Lima")


async def test_another_stores_pin_or_code_opens_nothing_here(redis: Redis) -> None:
    """Ben works at Lyon: his PIN is a wrong code at Paris, and Paris's code is one at Lyon."""
    counter = access(redis)
    with pytest.raises(VerificationFailed):
        await counter.verify("paris", OTHER_PIN, CLIENT)
    with pytest.raises(VerificationFailed):
        await counter.verify("lyon", store_code(NOW), CLIENT)


async def test_wrong_codes_count_down_per_store_then_lock(redis: Redis) -> None:
    """3 per store here: 2, 1 tries left, then locked, for every client, right code included."""
    counter = access(redis)
    lefts = []
    for _ in range(2):
        with pytest.raises(VerificationFailed) as failed:
            await counter.verify("paris", "000000", CLIENT)
        lefts.append(failed.value.tries_left)
    assert lefts == [2, 1]
    with pytest.raises(VerificationLocked):
        await counter.verify("paris", "", CLIENT)  # an empty code is a wrong one
    with pytest.raises(VerificationLocked):
        await counter.verify("paris", PIN, "198.51.100.7")
    assert await access(redis).verify("lyon", "190809", CLIENT)  # another store is not locked


async def test_a_right_code_gives_its_try_back(redis: Redis) -> None:
    """One wrong, one right: the next wrong one still has one try left."""
    counter = access(redis)
    with pytest.raises(VerificationFailed):
        await counter.verify("paris", "000000", CLIENT)
    await counter.verify("paris", PIN, CLIENT)
    with pytest.raises(VerificationFailed) as failed:
        await counter.verify("paris", "000000", CLIENT)
    assert failed.value.tries_left == 1


async def test_the_client_counter_is_the_one_coupon_codes_use(redis: Redis) -> None:
    """Guesses at coupons and at counters spend one budget per client network."""
    tries = lockout(redis)
    for _ in range(3):
        await tries.take(COUPON, CLIENT)  # three wrong codes typed on coupons
    counter = access(redis, tries)
    with pytest.raises(VerificationFailed):
        await counter.verify("lyon", "000000", CLIENT)
    with pytest.raises(VerificationLocked):
        await counter.verify("paris", "000000", CLIENT)
