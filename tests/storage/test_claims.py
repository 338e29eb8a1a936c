"""The Redis state machine, exercised directly against a real Redis."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pytest

from resolver.domain.coupons import Link, Offer
from resolver.domain.names import Names
from resolver.domain.redemptions import Outcome, Redemption
from resolver.redemption.policy import CouponLimit
from resolver.redemption.ports import Claim, ClaimKind, FormToken, Settled
from resolver.storage.claims import CHANNEL, RedisClaims
from resolver.storage.redis import shared_secret
from resolver.storage.topologies import memory_markers
from tests.support.topologies import redis_url_on_every_topology  # noqa: F401  # a fixture

if TYPE_CHECKING:
    from redis.asyncio import Redis

LINK = Link("camp-1", "member-1")
NAMES = Names(b"secret")
DONE = Redemption(Outcome.REDEEMED, LINK, coupon_id="coupon-a", detail="ok")


@pytest.fixture
async def store(redis: Redis) -> RedisClaims:
    store = RedisClaims(redis)
    for marker in memory_markers(cluster=store.cluster)[:1]:  # the rest: set by `redis`
        await redis.set(marker, 0)  # this Redis has remembered everything since the start
    return store


async def claim(store: RedisClaims, key: str, token: str, nonce: str, **options: Any) -> Claim:
    """A claim of LINK with a 5 s lease and a 60 s hold unless `options` say otherwise."""
    values: dict[str, Any] = {"lease": 5, "hold": 60, "link": LINK} | options
    return await store.claim(key, token=token, nonce=nonce, **values)


async def settle(
    store: RedisClaims,
    key: str,
    token: str,
    nonce: str,
    mode: Any,
    result: Redemption,
    **options: Any,
) -> Settled:
    """Settle an attempt begun now, keeping state and receipt 60 s unless `options` say so."""
    values: dict[str, Any] = {
        "since": datetime.now(UTC),
        "link": LINK,
        "who": "",
        "keep": 60,
        "receipt_ttl": 60,
    } | options
    return await store.settle(key, token=token, nonce=nonce, mode=mode, result=result, **values)


async def test_a_links_keys_share_one_hash_tag_and_hold_no_raw_id(
    store: RedisClaims, redis: Redis
) -> None:
    """No raw id reaches Redis, and every key of one link shares one hash slot."""
    key = NAMES.key("passkit", LINK)
    await claim(store, key, "t", "n" * 16)
    await store.mint_form_token(key, "coupon-a", "offer-a", 60)
    names = {name async for name in redis.scan_iter(match="rr:{*")}
    assert names
    assert all(f"{{{key}}}" in name for name in names)
    assert not any("member-1" in name or "camp-1" in name for name in names)


async def test_the_first_claim_wins_and_others_see_it_busy(store: RedisClaims) -> None:
    """Claim is atomic: of two claimers only the first owns the link."""
    key = NAMES.key("passkit", LINK)
    first = await claim(store, key, "a", "n1")
    second = await claim(store, key, "b", "n2")
    assert first.kind is ClaimKind.CLAIMED
    assert second.kind is ClaimKind.BUSY
    assert second.nonce == "n1"
    assert 0 < second.wait <= 5


async def test_many_simultaneous_claims_have_exactly_one_winner(store: RedisClaims) -> None:
    """Under concurrency, one CLAIMED and every other BUSY."""
    key = NAMES.key("passkit", LINK)
    claims = await asyncio.gather(*(claim(store, key, f"t{i}", f"n{i}") for i in range(100)))
    kinds = [c.kind for c in claims]
    assert kinds.count(ClaimKind.CLAIMED) == 1
    assert kinds.count(ClaimKind.BUSY) == 99


async def test_settled_results_are_replayed_and_receipts_kept(store: RedisClaims) -> None:
    """After settle(done), a claim replays the result; the receipt is readable by nonce."""
    key = NAMES.key("passkit", LINK)
    mine = await claim(store, key, "a", "n1")
    assert await settle(store, key, "a", mine.nonce, "done", DONE, keep=60, receipt_ttl=60)
    again = await claim(store, key, "b", "n2")
    assert again.kind is ClaimKind.DONE
    assert again.result is not None
    assert again.result.coupon_id == "coupon-a"
    assert again.nonce == "n1"
    receipt = await store.attempt(key, "n1")
    assert receipt.state == "done"
    assert receipt.result is not None
    assert receipt.result.outcome is Outcome.REDEEMED


async def test_a_stale_owner_cannot_settle_over_a_new_one(store: RedisClaims, redis: Redis) -> None:
    """Settle is guarded by the claim token: an owner whose lease ran out changes nothing."""
    key = NAMES.key("passkit", LINK)
    await claim(store, key, "old", "n1", lease=0.05)
    await asyncio.sleep(0.1)
    takeover = await claim(store, key, "new", "n2")
    assert takeover.kind is ClaimKind.RECONCILE  # the old attempt may have been applied
    assert not await settle(store, key, "old", "n1", "done", DONE, keep=60, receipt_ttl=60)
    assert await redis.hget(f"rr:{{{key}}}", "t") == "new"


async def test_release_lets_the_next_claim_start_fresh(store: RedisClaims) -> None:
    """A request that never left frees the link: the next claim is an ordinary one."""
    key = NAMES.key("passkit", LINK)
    await claim(store, key, "a", "n1")
    failed = Redemption(Outcome.UPSTREAM_ERROR, LINK)
    await settle(store, key, "a", "n1", "release", failed, keep=60, receipt_ttl=60)
    assert (await claim(store, key, "b", "n2")).kind is (ClaimKind.CLAIMED)


async def test_unknown_makes_the_next_claim_reconcile_from_the_first_attempt(
    store: RedisClaims,
) -> None:
    """Doubt is remembered with the time of the attempt it is about."""
    key = NAMES.key("passkit", LINK)
    first = await claim(store, key, "a", "n1")
    failed = Redemption(Outcome.UPSTREAM_ERROR, LINK)
    await settle(store, key, "a", "n1", "unknown", failed, keep=60, receipt_ttl=60)
    second = await claim(store, key, "b", "n2")
    assert second.kind is ClaimKind.RECONCILE
    assert second.since == first.since


async def test_a_result_about_another_coupon_does_not_block_a_reissued_one(
    store: RedisClaims,
) -> None:
    """A claim that names the coupon it saw ignores a stored result about an older coupon."""
    key = NAMES.key("passkit", LINK)
    await claim(store, key, "a", "n1")
    await settle(store, key, "a", "n1", "done", DONE, keep=60, receipt_ttl=60)
    same = await claim(store, key, "b", "n2", expected_coupon="coupon-a")
    newer = await claim(store, key, "c", "n3", expected_coupon="coupon-b")
    assert same.kind is ClaimKind.DONE
    assert newer.kind is ClaimKind.CLAIMED


async def test_form_tokens_are_one_time_and_bound_to_their_link(store: RedisClaims) -> None:
    """Unknown → bad; fresh → claims; used → replays or, with nothing to show, is refused."""
    key = NAMES.key("passkit", LINK)
    other = NAMES.key("passkit", Link("camp-1", "member-2"))
    token = await store.mint_form_token(key, "coupon-a", "offer-a", 60)
    bad = await claim(store, other, "x", "n0", form_token=token)
    assert bad.kind is ClaimKind.BAD_TOKEN
    fresh = await claim(store, key, "a", "n1", form_token=token)
    assert fresh.kind is ClaimKind.CLAIMED
    assert (fresh.coupon_id, fresh.offer_id) == ("coupon-a", "offer-a")
    failed = Redemption(Outcome.UPSTREAM_ERROR, LINK)
    await settle(store, key, "a", "n1", "release", failed, keep=60, receipt_ttl=60)
    used = await claim(store, key, "b", "n2", form_token=token)
    assert used.kind is ClaimKind.USED_TOKEN


async def test_a_pages_token_and_offer_go_the_scripts_way_to_redis(
    store: RedisClaims, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A member's pages read and write the form token and the offer cache as the scripts are
    sent (the pool's own lending, writes shared while Redis is busy), not through redis-py's
    command machinery, which wraps every write in a task of its own; a Cluster routes them
    through redis-py."""
    if not store.cluster:

        async def refused(*_: object, **__: object) -> None:
            raise AssertionError("went through execute_command")

        monkeypatch.setattr(store.redis, "execute_command", refused)
    key = NAMES.key("passkit", LINK)
    token = await store.mint_form_token(key, "coupon-a", "offer-é", 60)
    assert await store.form_token(key, token) == FormToken("coupon-a", "offer-é", used=False)
    assert await store.form_token(key, "unknown") is None
    offer = Offer("offer-é", "Café ☕", translations={"title": {"fr": "Café"}})
    await store.cache_offer("passkit", offer, 60)
    assert await store.cached_offer("passkit", "offer-é") == offer
    assert await store.cached_offer("passkit", "unknown") is None


async def test_form_tokens_expire(store: RedisClaims) -> None:
    """A confirmation left open too long is no longer accepted."""
    key = NAMES.key("passkit", LINK)
    token = await store.mint_form_token(key, "coupon-a", "offer-a", 0.05)
    await asyncio.sleep(0.1)
    late = await claim(store, key, "a", "n1", form_token=token)
    assert late.kind is ClaimKind.BAD_TOKEN


async def test_settled_state_expires_after_its_window(store: RedisClaims) -> None:
    """After the duplicate window the link can be claimed afresh."""
    key = NAMES.key("passkit", LINK)
    await claim(store, key, "a", "n1")
    await settle(store, key, "a", "n1", "done", DONE, keep=0.0, receipt_ttl=60)
    assert (await claim(store, key, "b", "n2")).kind is ClaimKind.DONE
    await asyncio.sleep(2.1)  # the minimum kept so that woken waiters can still read it
    assert (await claim(store, key, "c", "n3")).kind is (ClaimKind.CLAIMED)


async def test_the_shared_secret_is_created_once_for_all_replicas(redis: Redis) -> None:
    """Every process without a configured secret derives the same keys."""
    first = await shared_secret(redis)
    second = await shared_secret(redis)
    assert first == second
    assert len(first) == 64


async def test_api_results_keep_no_receipt_but_stay_viewable_while_settled(
    store: RedisClaims,
) -> None:
    """With no receipt kept, the result is still shown from the state within the window."""
    key = NAMES.key("passkit", LINK)
    await claim(store, key, "a", "n1")
    await settle(store, key, "a", "n1", "done", DONE, keep=60, receipt_ttl=0)
    assert not await store.redis.exists(f"rr:{{{key}}}:r:n1")
    shown = await store.attempt(key, "n1")
    assert shown.result is not None
    assert shown.result.coupon_id == "coupon-a"
    assert (await store.attempt(key, "other")).state == "gone"


async def test_a_stored_result_is_its_own_requests_only(store: RedisClaims) -> None:
    """The request that made a result gets it as its own; any other request learns it is not."""
    key = NAMES.key("passkit", LINK)
    await claim(store, key, "a", "n1", who="till-retry")
    await settle(store, key, "a", "n1", "done", DONE, who="till-retry")
    same = await claim(store, key, "b", "n2", who="till-retry")
    other = await claim(store, key, "c", "n3", who="someone-else")
    anonymous = await claim(store, key, "d", "n4")
    assert (same.kind, same.mine) == (ClaimKind.DONE, True)
    assert (other.kind, other.mine) == (ClaimKind.DONE, False)
    assert (anonymous.kind, anonymous.mine) == (ClaimKind.DONE, False)


async def test_re_checks_while_waiting_are_not_counted(store: RedisClaims, redis: Redis) -> None:
    """Only a request's first claim counts against the coupon's limit, not its waiting re-checks."""
    key = NAMES.key("passkit", LINK)
    limit = CouponLimit(count=2, window=60)
    await claim(store, key, "a", "n1", limit=limit)
    for _ in range(5):
        busy = await claim(store, key, "b", "n2", limit=limit, count=False)
        assert busy.kind is ClaimKind.BUSY
    assert await redis.get(f"rr:{{{key}}}:n") == "1"
    assert (await claim(store, key, "c", "n3", limit=limit)).kind is ClaimKind.BUSY


async def test_a_stored_result_is_answered_over_the_limit(store: RedisClaims) -> None:
    """Replays cost the upstream nothing, so the coupon's limit does not refuse them."""
    key = NAMES.key("passkit", LINK)
    limit = CouponLimit(count=1, window=60)
    await claim(store, key, "a", "n1", limit=limit)
    await settle(store, key, "a", "n1", "done", DONE)
    for token in ("b", "c", "d"):
        assert (await claim(store, key, token, "n", limit=limit)).kind is ClaimKind.DONE


async def test_a_released_attempt_gives_its_count_back(store: RedisClaims) -> None:
    """An attempt that never reached the upstream does not use up the member's retries."""
    key = NAMES.key("passkit", LINK)
    limit = CouponLimit(count=1, window=60)
    failed = Redemption(Outcome.UPSTREAM_ERROR, LINK)
    await claim(store, key, "a", "n1", limit=limit)
    await settle(store, key, "a", "n1", "release", failed)
    assert (await claim(store, key, "b", "n2", limit=limit)).kind is ClaimKind.CLAIMED


async def test_a_redis_that_forgot_holds_claims_then_reads_back(
    store: RedisClaims, redis: Redis
) -> None:
    """With the memory marker gone, claims wait out the quarantine, then read back for a while."""
    key = NAMES.key("passkit", LINK)
    await redis.delete(store.memory_key(key))
    held = await claim(store, key, "a", "n1", quarantine=0.3, forgetful=0.6)
    assert held.kind is ClaimKind.QUARANTINE
    assert 0 < held.wait <= 0.3
    await asyncio.sleep(held.wait + 0.01)
    careful = await claim(store, key, "b", "n2", quarantine=0.3, forgetful=0.6)
    assert careful.kind is ClaimKind.FORGOTTEN
    await settle(store, key, "b", "n2", "release", Redemption(Outcome.UPSTREAM_ERROR, LINK))
    await asyncio.sleep(0.35)
    normal = await claim(store, key, "c", "n3", quarantine=0.3, forgetful=0.6)
    assert normal.kind is ClaimKind.CLAIMED


async def test_a_settle_after_redis_forgot_the_claim_still_records(
    store: RedisClaims, redis: Redis
) -> None:
    """An owner whose claim vanished (a flush) still leaves its answer for the next request."""
    key = NAMES.key("passkit", LINK)
    await claim(store, key, "a", "n1")
    await redis.delete(f"rr:{{{key}}}")
    assert await settle(store, key, "a", "n1", "done", DONE) is Settled.RECORDED
    later = await claim(store, key, "b", "n2")
    assert later.kind is ClaimKind.DONE
    assert later.result is not None
    assert later.result.coupon_id == "coupon-a"


async def test_a_settle_after_a_takeover_writes_nothing(store: RedisClaims) -> None:
    """A stale owner's answer is lost, neither in the state nor as a receipt."""
    key = NAMES.key("passkit", LINK)
    await claim(store, key, "old", "n1", lease=0.05)
    await asyncio.sleep(0.1)
    await claim(store, key, "new", "n2")
    assert await settle(store, key, "old", "n1", "done", DONE) is Settled.LOST
    assert (await store.attempt(key, "n1")).state == "gone"


async def test_only_the_owner_can_renew_its_claim(store: RedisClaims) -> None:
    """Renewing proves the claim is still ours before a second call is sent."""
    key = NAMES.key("passkit", LINK)
    await claim(store, key, "old", "n1", lease=0.05)
    assert await store.renew(key, token="old", lease=0.05)
    await asyncio.sleep(0.1)
    await claim(store, key, "new", "n2")
    assert not await store.renew(key, token="old", lease=5)
    assert await store.renew(key, token="new", lease=5)


async def test_a_doubt_is_resolved_only_once_its_owner_is_gone(store: RedisClaims) -> None:
    """A read-back outside any claim settles a doubt, never a live attempt or another one."""
    key = NAMES.key("passkit", LINK)
    # A lease long enough to outlast a claim that waits for Sentinel's replica on a busy box.
    await claim(store, key, "a", "n1", lease=1.0)
    assert not await store.resolve(
        key, nonce="n1", mode="done", result=DONE, keep=60, receipt_ttl=60
    )
    await asyncio.sleep(1.05)
    assert not await store.resolve(
        key, nonce="n9", mode="done", result=DONE, keep=60, receipt_ttl=60
    )
    assert await store.resolve(key, nonce="n1", mode="done", result=DONE, keep=60, receipt_ttl=60)
    assert (await claim(store, key, "b", "n2")).kind is ClaimKind.DONE


async def test_a_receipt_page_sees_an_attempt_in_flight_then_its_dead_owner(
    store: RedisClaims,
) -> None:
    """While the lease lasts the attempt is in flight; after it, a doubt naming the link."""
    key = NAMES.key("passkit", LINK)
    await claim(store, key, "a", "n1", lease=0.2)
    flying = await store.attempt(key, "n1")
    assert (flying.state, flying.link) == ("in_flight", LINK)
    await asyncio.sleep(0.25)
    dead = await store.attempt(key, "n1")
    assert (dead.state, dead.link) == ("doubt", LINK)
    assert dead.since is not None


async def test_a_preview_counts_and_sees_what_redis_holds(store: RedisClaims) -> None:
    """A peek is limited like any request and reports a settled result with its coupon."""
    key = NAMES.key("passkit", LINK)
    assert (await store.peek(key)).state == "none"  # type: ignore[union-attr]
    await claim(store, key, "a", "n1")
    await settle(store, key, "a", "n1", "done", DONE)
    held = await store.peek(key, CouponLimit(count=1, window=60))
    assert not isinstance(held, float)
    assert (held.state, held.coupon_id, held.doubt) == ("done", "coupon-a", False)
    assert isinstance(await store.peek(key, CouponLimit(count=1, window=60)), float)


async def test_a_settle_is_announced_only_when_someone_waits(
    store: RedisClaims, redis: Redis
) -> None:
    """Most coupons are tapped once: their settle publishes nothing for every worker to read.
    A request that found the link busy makes the settle announce itself (and so does the
    read-back that settles a doubt somebody waits for)."""
    if store.cluster:
        pytest.skip("a Cluster announces on the link's own sharded channel")
    pubsub = redis.pubsub(ignore_subscribe_messages=True)
    await pubsub.subscribe(CHANNEL)
    key = NAMES.key("passkit", LINK)

    async def notices() -> list[str]:
        heard = []
        while (message := await pubsub.get_message(timeout=0.2)) is not None:
            heard.append(message["data"])
        return heard

    alone = await claim(store, key, "a", "n1")
    await settle(store, key, "a", alone.nonce, "unknown", DONE)
    assert await notices() == []

    other = NAMES.key("passkit", Link("camp-1", "member-2"))
    first = await claim(store, other, "a", "n1")
    assert (await claim(store, other, "b", "n2")).kind is ClaimKind.BUSY
    await settle(store, other, "a", first.nonce, "done", DONE)
    assert await notices() == [f"rr:{{{other}}}"]
    await pubsub.aclose()  # type: ignore[no-untyped-call]  # redis-py lacks a hint
