"""Staff codes guessed as an attacker would: many links (real and made up), many addresses of
one IPv6 /64 or of many networks, as fast as the service answers, for one hour of the budgets'
time.

The windows are scaled down (15 minutes of lockout to 2 s, an hour of miss budget to 8 s) so
that one "hour" takes seconds; the counts per window are the deployment's defaults. The figures
these tests print are the ones the README's guessing odds are computed from.
"""

from __future__ import annotations

import itertools
import secrets
import time
from collections import Counter
from typing import TYPE_CHECKING, Any

import pytest

from resolver.app import create_app
from resolver.settings import Settings
from resolver.staff.verification import StaffCheck
from tests.conftest import running_from
from tests.support.staff import write_staff_file

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    from redis.asyncio import Redis

    from tests.support.passkit import PassKitDouble

SCALE = 450  # 15 minutes of lockout → 2 s
HOUR = 3600 / SCALE
DEFAULTS = Settings.model_fields
PER_COUPON = DEFAULTS["staff_max_failures"].default
PER_CLIENT = DEFAULTS["staff_max_failures_per_ip"].default
MISSES = int(DEFAULTS["rate_limit_misses"].default.split("/")[0])
LOCKOUT = round(DEFAULTS["staff_lockout_seconds"].default / SCALE)
PERIODS = round(HOUR / LOCKOUT)  # lockout periods in an hour
COUPONS = 10


@pytest.fixture
def guess(
    make_settings: Callable[..., Settings],
    passkit: PassKitDouble,
    redis: Redis,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Callable[..., Any]:
    """Guess codes for an hour from `hosts` on links named by `links`; (requests, codes
    checked per link)."""
    for number in range(COUPONS):
        passkit.add(f"member-{number}")
    settings = make_settings(
        staff_verification="required",
        staff_file=str(write_staff_file(tmp_path)),
        staff_lockout_seconds=LOCKOUT,
        rate_limit_misses=f"{MISSES} per {round(HOUR)} seconds",
    )
    checked: Counter[str] = Counter()
    naming = [""]
    identify = StaffCheck._identify  # count what reaches the comparison

    async def counted(self: StaffCheck, code: str) -> Any:
        checked[naming[0]] += 1
        return await identify(self, code)

    monkeypatch.setattr(StaffCheck, "_identify", counted)

    async def run(hosts: list[str], links: Iterator[str]) -> tuple[int, Counter[str]]:
        sent = 0
        async with running_from(create_app(settings), *hosts) as attackers:
            started = time.monotonic()
            for attacker in itertools.cycle(attackers):
                if time.monotonic() - started > HOUR:
                    break
                naming[0] = next(links)
                code = f"{secrets.randbelow(10**6):06d}"
                body = {"campaignId": "camp-1", "externalId": naming[0], "staffCode": code}
                await attacker.post("/api/v1/redeem", json=body)
                sent += 1
        return sent, checked

    return run


async def test_one_64_checks_at_most_its_miss_budget_an_hour(guess: Callable[..., Any]) -> None:
    """64 addresses of one /64 spreading guesses over every real coupon (made-up links would
    only spend the budget faster: they check no code): at most 30 codes are compared in an
    hour."""
    hosts = [f"2001:db8:1:2::{n:x}" for n in range(1, 65)]
    links = itertools.cycle([f"member-{n}" for n in range(COUPONS)])
    sent, checked = await guess(hosts, links)
    total = sum(checked.values())
    print(f"\none /64, one hour: {sent} requests, {total} codes checked")
    # The miss budget is what stops it; its sliding window lets one more through as it slides.
    assert MISSES <= total <= MISSES + 1 < PER_CLIENT * PERIODS


async def test_one_coupon_gets_at_most_its_lockout_an_hour_from_any_networks(
    guess: Callable[..., Any],
) -> None:
    """One coupon guessed from 64 different networks: at most 5 codes per lockout period,
    20 an hour, whatever the addresses."""
    hosts = [f"2001:db8:{n:x}::1" for n in range(1, 65)]
    sent, checked = await guess(hosts, itertools.repeat("member-0"))
    print(f"\none coupon, one hour: {sent} requests, {checked['member-0']} codes checked")
    assert PER_COUPON * (PERIODS - 1) <= checked["member-0"] <= PER_COUPON * PERIODS
