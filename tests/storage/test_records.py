"""What `resolver coupon` reads and drops of one link's record: never a live claim."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from resolver.storage.claims import MEMORY, RedisClaims
from resolver.storage.records import Records
from tests.storage.test_claims import DONE, claim, settle

if TYPE_CHECKING:
    from redis.asyncio import Redis

KEY = "inspectedlink0001"


@pytest.fixture
async def store(redis: Redis) -> RedisClaims:
    await redis.set(MEMORY, 0)  # this Redis has remembered everything since the start
    return RedisClaims(redis)


async def test_forget_drops_a_settled_outcome_and_its_absence_is_said(
    redis: Redis, store: RedisClaims
) -> None:
    """A stored result is dropped once; a second forget finds nothing."""
    taken = await claim(store, KEY, "token-1", "nonce-1")
    await settle(store, KEY, "token-1", taken.nonce, "done", DONE)
    records = Records(redis)
    assert await records.kept_for(KEY) is not None
    assert await records.forget(KEY) == "forgotten"
    assert await records.kept_for(KEY) is None
    assert await records.forget(KEY) == "none"


async def test_forget_never_drops_a_claim_whose_attempt_may_still_be_calling(
    redis: Redis, store: RedisClaims
) -> None:
    """A claim with lease left stays: its owner's settle must find it."""
    await claim(store, KEY, "token-1", "nonce-1")
    assert await Records(redis).forget(KEY) == "in_flight"
    assert (await store.peek(KEY)).state == "claimed"  # type: ignore[union-attr]


async def test_receipts_are_counted_for_the_link_alone(redis: Redis, store: RedisClaims) -> None:
    """Receipt pages kept for the link's attempts, not another link's."""
    taken = await claim(store, KEY, "token-1", "nonce-1")
    await settle(store, KEY, "token-1", taken.nonce, "done", DONE, receipt_ttl=60)
    other = await claim(store, "otherlink00000002", "token-2", "nonce-2")
    await settle(store, "otherlink00000002", "token-2", other.nonce, "done", DONE, receipt_ttl=60)
    assert await Records(redis).receipts(KEY) == 1
