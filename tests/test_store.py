"""The Redis state machine, exercised directly against a real Redis."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import pytest

from resolver.models import Link, Outcome, Redemption
from resolver.store import CODE_ALPHABET, CODE_LENGTH, ClaimKind, Store, new_nonce, shared_secret

if TYPE_CHECKING:
    from redis.asyncio import Redis

LINK = Link("camp-1", "member-1")
DONE = Redemption(Outcome.REDEEMED, LINK, coupon_id="coupon-a", detail="ok")


@pytest.fixture
def store(redis: Redis) -> Store:
    return Store(redis, b"secret")


async def test_keys_are_keyed_hashes_with_a_cluster_hash_tag(store: Store, redis: Redis) -> None:
    """No raw id reaches Redis, and every key of one link shares one hash slot."""
    key = store.key("passkit", LINK)
    await store.claim(key, token="t", nonce="n" * 16, lease=5, hold=60)
    await store.mint_form_token(key, "coupon-a", "offer-a", 60)
    names = await redis.keys("*")
    assert names
    assert all(f"{{{key}}}" in name for name in names)
    assert not any("member-1" in name or "camp-1" in name for name in names)
    assert store.key("passkit", LINK) != Store(redis, b"other").key("passkit", LINK)
    assert store.key("passkit", LINK) != store.key("other-provider", LINK)


async def test_the_first_claim_wins_and_others_see_it_busy(store: Store) -> None:
    """Claim is atomic: of two claimers only the first owns the link."""
    key = store.key("passkit", LINK)
    first = await store.claim(key, token="a", nonce="n1", lease=5, hold=60)
    second = await store.claim(key, token="b", nonce="n2", lease=5, hold=60)
    assert first.kind is ClaimKind.CLAIMED
    assert second.kind is ClaimKind.BUSY
    assert second.nonce == "n1"
    assert 0 < second.lease_left <= 5


async def test_many_simultaneous_claims_have_exactly_one_winner(store: Store) -> None:
    """Under concurrency, one CLAIMED and every other BUSY."""
    key = store.key("passkit", LINK)
    claims = await asyncio.gather(
        *(store.claim(key, token=f"t{i}", nonce=f"n{i}", lease=5, hold=60) for i in range(100))
    )
    kinds = [c.kind for c in claims]
    assert kinds.count(ClaimKind.CLAIMED) == 1
    assert kinds.count(ClaimKind.BUSY) == 99


async def test_settled_results_are_replayed_and_receipts_kept(store: Store) -> None:
    """After settle(done), a claim replays the result; the receipt is readable by nonce."""
    key = store.key("passkit", LINK)
    mine = await store.claim(key, token="a", nonce="n1", lease=5, hold=60)
    assert await store.settle(
        key, token="a", nonce=mine.nonce, mode="done", result=DONE, keep=60, receipt_ttl=60
    )
    again = await store.claim(key, token="b", nonce="n2", lease=5, hold=60)
    assert again.kind is ClaimKind.DONE
    assert again.result is not None
    assert again.result.coupon_id == "coupon-a"
    assert again.nonce == "n1"
    receipt = await store.receipt(key, "n1")
    assert receipt is not None
    assert receipt.outcome is Outcome.REDEEMED


async def test_a_stale_owner_cannot_settle_over_a_new_one(store: Store, redis: Redis) -> None:
    """Settle is guarded by the claim token: an owner whose lease ran out changes nothing."""
    key = store.key("passkit", LINK)
    await store.claim(key, token="old", nonce="n1", lease=0.05, hold=60)
    await asyncio.sleep(0.1)
    takeover = await store.claim(key, token="new", nonce="n2", lease=5, hold=60)
    assert takeover.kind is ClaimKind.RECONCILE  # the old attempt may have been applied
    assert not await store.settle(
        key, token="old", nonce="n1", mode="done", result=DONE, keep=60, receipt_ttl=60
    )
    assert await redis.hget(f"rr:{{{key}}}", "t") == "new"


async def test_release_lets_the_next_claim_start_fresh(store: Store) -> None:
    """A request that never left frees the link: the next claim is an ordinary one."""
    key = store.key("passkit", LINK)
    await store.claim(key, token="a", nonce="n1", lease=5, hold=60)
    failed = Redemption(Outcome.UPSTREAM_ERROR, LINK)
    await store.settle(
        key, token="a", nonce="n1", mode="release", result=failed, keep=60, receipt_ttl=60
    )
    assert (await store.claim(key, token="b", nonce="n2", lease=5, hold=60)).kind is (
        ClaimKind.CLAIMED
    )


async def test_unknown_makes_the_next_claim_reconcile_from_the_first_attempt(
    store: Store,
) -> None:
    """Doubt is remembered with the time of the attempt it is about."""
    key = store.key("passkit", LINK)
    first = await store.claim(key, token="a", nonce="n1", lease=5, hold=60)
    failed = Redemption(Outcome.UPSTREAM_ERROR, LINK)
    await store.settle(
        key, token="a", nonce="n1", mode="unknown", result=failed, keep=60, receipt_ttl=60
    )
    second = await store.claim(key, token="b", nonce="n2", lease=5, hold=60)
    assert second.kind is ClaimKind.RECONCILE
    assert second.since == first.since


async def test_a_result_about_another_coupon_does_not_block_a_reissued_one(store: Store) -> None:
    """A claim that names the coupon it saw ignores a stored result about an older coupon."""
    key = store.key("passkit", LINK)
    await store.claim(key, token="a", nonce="n1", lease=5, hold=60)
    await store.settle(
        key, token="a", nonce="n1", mode="done", result=DONE, keep=60, receipt_ttl=60
    )
    same = await store.claim(
        key, token="b", nonce="n2", lease=5, hold=60, expected_coupon="coupon-a"
    )
    newer = await store.claim(
        key, token="c", nonce="n3", lease=5, hold=60, expected_coupon="coupon-b"
    )
    assert same.kind is ClaimKind.DONE
    assert newer.kind is ClaimKind.CLAIMED


async def test_form_tokens_are_one_time_and_bound_to_their_link(store: Store) -> None:
    """Unknown → bad; fresh → claims; used → replays or, with nothing to show, is refused."""
    key = store.key("passkit", LINK)
    other = store.key("passkit", Link("camp-1", "member-2"))
    token = await store.mint_form_token(key, "coupon-a", "offer-a", 60)
    bad = await store.claim(other, token="x", nonce="n0", lease=5, hold=60, form_token=token)
    assert bad.kind is ClaimKind.BAD_TOKEN
    fresh = await store.claim(key, token="a", nonce="n1", lease=5, hold=60, form_token=token)
    assert fresh.kind is ClaimKind.CLAIMED
    assert (fresh.coupon_id, fresh.offer_id) == ("coupon-a", "offer-a")
    failed = Redemption(Outcome.UPSTREAM_ERROR, LINK)
    await store.settle(
        key, token="a", nonce="n1", mode="release", result=failed, keep=60, receipt_ttl=60
    )
    used = await store.claim(key, token="b", nonce="n2", lease=5, hold=60, form_token=token)
    assert used.kind is ClaimKind.USED_TOKEN


async def test_form_tokens_expire(store: Store) -> None:
    """A confirmation left open too long is no longer accepted."""
    key = store.key("passkit", LINK)
    token = await store.mint_form_token(key, "coupon-a", "offer-a", 0.05)
    await asyncio.sleep(0.1)
    late = await store.claim(key, token="a", nonce="n1", lease=5, hold=60, form_token=token)
    assert late.kind is ClaimKind.BAD_TOKEN


async def test_settled_state_expires_after_its_window(store: Store) -> None:
    """After the duplicate window the link can be claimed afresh."""
    key = store.key("passkit", LINK)
    await store.claim(key, token="a", nonce="n1", lease=5, hold=60)
    await store.settle(
        key, token="a", nonce="n1", mode="done", result=DONE, keep=0.0, receipt_ttl=60
    )
    assert (await store.claim(key, token="b", nonce="n2", lease=5, hold=60)).kind is ClaimKind.DONE
    await asyncio.sleep(2.1)  # the minimum kept so that woken waiters can still read it
    assert (await store.claim(key, token="c", nonce="n3", lease=5, hold=60)).kind is (
        ClaimKind.CLAIMED
    )


async def test_the_shared_secret_is_created_once_for_all_replicas(redis: Redis) -> None:
    """Every process without a configured secret derives the same keys."""
    first = await shared_secret(redis)
    second = await shared_secret(redis)
    assert first == second
    assert len(first) == 64


async def test_api_results_keep_no_receipt_but_stay_viewable_while_settled(store: Store) -> None:
    """With no receipt kept, the result is still shown from the state within the window."""
    key = store.key("passkit", LINK)
    await store.claim(key, token="a", nonce="n1", lease=5, hold=60)
    await store.settle(key, token="a", nonce="n1", mode="done", result=DONE, keep=60, receipt_ttl=0)
    assert not await store.redis.exists(f"rr:{{{key}}}:r:n1")
    shown = await store.receipt(key, "n1")
    assert shown is not None
    assert shown.coupon_id == "coupon-a"
    assert await store.receipt(key, "other") is None


def test_a_verification_code_is_stable_per_receipt(store: Store) -> None:
    """The same receipt always gets the same code: a reload cannot change what staff read."""
    receipt = f"{store.key('passkit', LINK)}-{'a' * 16}"
    assert store.verification_code(receipt) == store.verification_code(receipt)


def test_verification_codes_are_short_unambiguous_and_differ_between_receipts(
    store: Store,
) -> None:
    """4 characters from the unambiguous alphabet, spread over receipts like random draws."""
    key = store.key("passkit", LINK)
    codes = [store.verification_code(f"{key}-{new_nonce()}") for _ in range(300)]
    assert all(len(code) == CODE_LENGTH for code in codes)
    assert set("".join(codes)) <= set(CODE_ALPHABET)
    assert not set("".join(codes)) & set("0O1IL2Z5S8B6GUVQD")
    # 300 draws from 19**4 codes: a handful of repeats at most, never one code for all.
    assert len(set(codes)) >= 290


def test_a_verification_code_needs_the_secret(store: Store, redis: Redis) -> None:
    """Another deployment's secret gives other codes, so codes cannot be computed from ids."""
    key = store.key("passkit", LINK)
    receipts = [f"{key}-{new_nonce()}" for _ in range(20)]
    other = Store(redis, b"another secret")
    assert [store.verification_code(r) for r in receipts] != [
        other.verification_code(r) for r in receipts
    ]


def test_a_secret_of_any_length_can_key_the_hashes(redis: Redis) -> None:
    """A configured secret longer than BLAKE2b's 64-byte key limit works, distinctly."""
    long_secret = Store(redis, b"x" * 128)
    assert len(long_secret.key("passkit", LINK)) == 16
    assert long_secret.key("passkit", LINK) != Store(redis, b"y" * 128).key("passkit", LINK)
    assert long_secret.verification_code("k-n")
