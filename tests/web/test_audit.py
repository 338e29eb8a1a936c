"""The audit trail over HTTP: a JSON redemption keeps its two round trips, and an entry names
what the member's screen and the staff saw."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from resolver.app import create_app
from resolver.storage.audit import STREAM
from tests.conftest import running
from tests.support.pages import form_of
from tests.support.round_trips import counting
from tests.support.round_trips import trail_of as entries
from tests.support.staff import PIN, write_staff_file

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    import pytest
    from redis.asyncio import Redis

    from resolver.settings import Settings
    from tests.support.passkit import PassKitDouble

API = "/api/v1/redeem"


async def test_a_json_redemption_takes_two_round_trips_audit_included(
    make_settings: Callable[..., Settings],
    passkit: PassKitDouble,
    redis: Redis,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Claim, then settle, the settle script appending the audit entry itself: two round
    trips of one command each, one entry."""
    passkit.add("member-0")
    passkit.add("member-1")
    async with running(create_app(make_settings())) as client:
        warm = await client.post(API, params={"externalId": "member-0", "campaignId": "camp-1"})
        assert warm.status_code == 200  # the scripts are loaded from here on
        with counting(monkeypatch) as sent:
            answer = await client.post(
                API, params={"externalId": "member-1", "campaignId": "camp-1"}
            )
    assert answer.json()["outcome"] == "redeemed"
    assert sent == [["EVALSHA"], ["EVALSHA"]], sent
    trail = await entries(redis)
    assert [fields["outcome"] for _, fields in trail] == ["redeemed", "redeemed"]
    assert trail[1][1]["coupon_id"] == answer.json()["couponId"]


async def test_an_entry_carries_the_members_code_and_who_verified(
    make_settings: Callable[..., Settings], passkit: PassKitDouble, redis: Redis, tmp_path: Path
) -> None:
    """The verification code on the success screen, the store, the employee and the method."""
    staff = write_staff_file(tmp_path)
    settings = make_settings(staff_verification="required", staff_file=str(staff))
    passkit.add("member-1")
    link = {"externalId": "member-1", "campaignId": "camp-1"}
    async with running(create_app(settings)) as client:
        page = await client.get("/redeem", params=link)
        answer = await client.post("/redeem", data=form_of(page) | {"staffCode": PIN})
        success = await client.get(answer.headers["location"])
    shown = re.search(r'<dd class="code" id="code">(\w+)</dd>', success.text)
    assert shown is not None
    ((_, fields),) = await entries(redis)
    assert (fields["store"], fields["employee"], fields["staff_method"]) == ("paris", "ana", "pin")
    assert fields["code"] == shown.group(1)
    assert fields["reference"] == answer.headers["location"].rsplit("/", 1)[-1]
    assert fields["retry"] == "0"
    assert "external_id" not in fields


async def test_no_trail_is_kept_when_its_retention_is_zero(
    make_settings: Callable[..., Settings], passkit: PassKitDouble, redis: Redis
) -> None:
    """RESOLVER_AUDIT_RETENTION_DAYS=0: the settle writes nothing more."""
    passkit.add("member-1")
    async with running(create_app(make_settings(audit_retention_days=0))) as client:
        await client.post(API, params={"externalId": "member-1", "campaignId": "camp-1"})
    assert not await redis.exists(STREAM)


async def test_an_answer_from_memory_joins_the_trail_as_a_replay(
    make_settings: Callable[..., Settings],
    passkit: PassKitDouble,
    redis: Redis,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Another request within the window learns "already redeemed" from Redis: an entry all
    the same (replay 1), in at most two round trips; the same request's retry is marked retry."""
    passkit.add("member-1")
    link = {"externalId": "member-1", "campaignId": "camp-1"}
    key = {"idempotency-key": "till-1:sale-9"}
    async with running(create_app(make_settings())) as client:
        first = await client.post(API, params=link, headers=key)
        with counting(monkeypatch) as sent:
            other = await client.post(API, params=link)
        again = await client.post(API, params=link, headers=key)
    assert (first.status_code, other.status_code, again.status_code) == (200, 409, 200)
    assert len(sent) <= 2, sent
    trail = [fields for _, fields in await entries(redis)]
    assert [(f["outcome"], f["replay"], f["retry"]) for f in trail] == [
        ("redeemed", "0", "0"),
        ("already_redeemed", "1", "0"),
        ("redeemed", "1", "1"),
    ]
    assert passkit.redeem_calls == 1
