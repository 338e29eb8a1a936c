"""The staff check: each policy, store codes and PINs, wrong codes, lockouts, the clock's drift."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest
import structlog

from resolver.domain.errors import VerificationFailed, VerificationLocked, VerificationRequired
from resolver.domain.redemptions import Attribution, VerificationPolicy
from resolver.staff import directory
from resolver.staff.verification import StaffCheck
from resolver.storage.claims import MEMORY
from resolver.storage.lockout import Lockout
from tests.conftest import Clock
from tests.support.staff import PIN, STEP, staff_toml, store_code

if TYPE_CHECKING:
    from redis.asyncio import Redis

COUPON = "5ogbvwqxreb3fyt2"
CLIENT = "203.0.113.9"
NOW = datetime(2026, 6, 1, 12, 3, tzinfo=UTC)
PARIS = Attribution("paris", "Paris Opéra")
ANA = Attribution("paris", "Paris Opéra", "ana", "Ana Lima")


def check(
    redis: Redis,
    default: VerificationPolicy = "required",
    campaigns: dict[str, str] | None = None,
    clock: Clock | None = None,
) -> StaffCheck:
    lockout = Lockout(redis, b"secret", per_coupon=3, per_client=20, period=60)
    return StaffCheck(
        directory.parse(staff_toml(campaigns)),
        lockout,
        default=default,
        drift=1,
        clock=clock or Clock(frozen=NOW),
    )


async def verify(
    staff: StaffCheck, code: str | None, campaign: str = "camp-1"
) -> Attribution | None:
    return await staff.verify(COUPON, campaign_id=campaign, code=code, client=CLIENT)


async def test_off_checks_nothing_not_even_a_code_sent_anyway(redis: Redis) -> None:
    """With the policy off, a code (right or wrong) is ignored and nothing is counted."""
    staff = check(redis, "off")
    assert await verify(staff, "000000") is None
    assert await verify(staff, PIN) is None
    assert await redis.keys("rr:*") == [MEMORY]  # the memory marker alone: no counter


async def test_optional_without_a_code_redeems_without_attribution(redis: Redis) -> None:
    """Optional: no code is fine; a right one names who verified."""
    staff = check(redis, "optional")
    assert await verify(staff, None) is None
    assert await verify(staff, "  ") is None
    assert await verify(staff, PIN) == ANA


async def test_optional_with_a_wrong_code_is_still_refused(redis: Redis) -> None:
    """A code given must be right, whatever the policy."""
    with pytest.raises(VerificationFailed):
        await verify(check(redis, "optional"), "000000")


async def test_required_without_a_code_is_refused_without_counting_a_try(redis: Redis) -> None:
    """A missing code is not a guess."""
    with pytest.raises(VerificationRequired):
        await verify(check(redis), None)
    assert await redis.keys("rr:*") == [MEMORY]  # the memory marker alone: no counter


async def test_the_stores_code_and_an_employees_pin_name_who_verified(redis: Redis) -> None:
    """The store code of the moment (spaces as apps show it) is the store; a PIN its employee."""
    staff = check(redis)
    code = store_code(NOW)
    assert await verify(staff, f"{code[:3]} {code[3:]}") == PARIS
    assert await verify(staff, PIN) == ANA


async def test_a_wrong_code_says_how_many_tries_are_left_and_the_last_locks(
    redis: Redis,
) -> None:
    """3 per coupon: 2 left, 1 left, then locked (even for the right code)."""
    staff = check(redis)
    lefts = []
    for _ in range(2):
        with pytest.raises(VerificationFailed) as refused:
            await verify(staff, "000000")
        lefts.append(refused.value.tries_left)
    assert lefts == [2, 1]
    with pytest.raises(VerificationLocked) as locked:
        await verify(staff, "000000")
    assert locked.value.retry_after == 60
    with pytest.raises(VerificationLocked):
        await verify(staff, PIN)


async def test_codes_one_step_old_are_accepted_and_two_steps_old_are_not(redis: Redis) -> None:
    """Drift 1 with a 10-minute step; the clock is injected, so no test waits."""
    clock = Clock(frozen=NOW)
    staff = check(redis, clock=clock)
    old = store_code(NOW)
    clock.shift = timedelta(seconds=STEP)
    assert await verify(staff, old) == PARIS
    clock.shift = timedelta(seconds=2 * STEP)
    with pytest.raises(VerificationFailed):
        await verify(staff, old)


async def test_a_campaign_overrides_the_deployments_policy(redis: Redis) -> None:
    """The staff file's [campaigns] table wins over RESOLVER_STAFF_VERIFICATION."""
    staff = check(redis, "off", campaigns={"camp-vip": "required"})
    assert staff.policy("camp-1") == "off"
    assert staff.policy("camp-vip") == "required"
    with pytest.raises(VerificationRequired):
        await verify(staff, None, campaign="camp-vip")


async def test_the_log_line_learns_who_verified_and_never_the_code(redis: Redis) -> None:
    """Ids and the method are bound for the canonical line; the PIN is nowhere in it."""
    structlog.contextvars.clear_contextvars()
    await verify(check(redis), PIN)
    bound = structlog.contextvars.get_contextvars()
    assert bound == {"verification": "pin", "staff_store": "paris", "staff_employee": "ana"}
    assert PIN not in repr(bound)
