"""The audit trail: one entry per settled attempt, written in the settle's own round trip."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

import pytest
from structlog.testing import capture_logs

from resolver.domain.coupons import Link
from resolver.domain.names import Names
from resolver.domain.redemptions import Attribution, Outcome, Redemption, Till
from resolver.redemption.ports import AuditFacts, ClaimKind, Settled
from resolver.storage import scripts
from resolver.storage.audit import STREAM, AuditTrail
from resolver.storage.claims import MEMORY, RedisClaims
from tests.support.round_trips import counting
from tests.support.round_trips import trail_of as entries

if TYPE_CHECKING:
    from redis.asyncio import Redis

LINK = Link("camp-1", "member-1")
NAMES = Names(b"secret")
KEY = NAMES.key("passkit", LINK)
ANA = Attribution("paris", "Paris Opéra", "ana", "Ana Lima")
AT = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)


def trail(redis: Redis, **options: bool) -> AuditTrail:
    return AuditTrail(redis, retention_days=30, external_ids=options.get("external_ids", False))


async def settle_one(
    store: RedisClaims, *, nonce: str = "n1", at: datetime = AT, retry: bool = False
) -> Settled:
    """Claim LINK and settle it redeemed, verified by Ana, with the audit facts."""
    claim = await store.claim(KEY, token="t", nonce=nonce, lease=5, hold=60, link=LINK)
    assert claim.kind is ClaimKind.CLAIMED
    result = Redemption(
        Outcome.REDEEMED, LINK, coupon_id="coupon-a", offer_id="offer-1", verified_by=ANA
    ).with_receipt(f"{KEY}-{nonce}")
    facts = AuditFacts(at=at, backend="passkit", code="K7QX", staff=ANA, retry=retry)
    return await store.settle(
        KEY, token="t", nonce=nonce, since=at, link=LINK, who="", mode="done",
        result=result, keep=60, receipt_ttl=60, audit=facts,
    )  # fmt: skip


@pytest.fixture
async def audited(redis: Redis) -> RedisClaims:
    await redis.set(MEMORY, 0)
    return RedisClaims(redis, audit=trail(redis))


async def test_a_settle_appends_one_entry_in_the_same_round_trip(
    audited: RedisClaims, redis: Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Outside a Cluster the settle script appends the entry itself: one command, no round
    trip of the trail's own."""
    await audited.claim(KEY, token="t", nonce="n1", lease=5, hold=60, link=LINK)
    await redis.script_load(scripts.SETTLE)  # as after the first settle since Redis started
    claim_free = RedisClaims(redis, audit=trail(redis))
    with counting(monkeypatch) as sent:
        result = Redemption(Outcome.REDEEMED, LINK, coupon_id="c").with_receipt(f"{KEY}-n1")
        facts = AuditFacts(at=AT, backend="passkit")
        await claim_free.settle(
            KEY, token="t", nonce="n1", since=AT, link=LINK, who="", mode="done",
            result=result, keep=60, receipt_ttl=60, audit=facts,
        )  # fmt: skip
    assert sent == [["EVALSHA"]]
    assert await redis.xlen(STREAM) == 1


async def test_an_entry_that_cannot_be_appended_fails_nothing_else(
    audited: RedisClaims, redis: Redis
) -> None:
    """A trail Redis refuses to append to (here: the key holds a string) is logged; the settle
    itself happens and says so as it would have."""
    await redis.set(STREAM, "not a stream")
    with capture_logs() as logged:
        assert await settle_one(audited) is Settled.OWNED
    assert await redis.hget(f"rr:{{{KEY}}}", "s") == "done"
    assert [line["event"] for line in logged] == ["audit_failed"]


async def test_an_entry_holds_the_documented_fields_and_no_raw_id(
    audited: RedisClaims, redis: Redis
) -> None:
    """Time, keyed coupon, campaign, back end, outcome, ids, who verified, receipt, code."""
    assert await settle_one(audited) is Settled.OWNED
    ((_, fields),) = await entries(redis)
    assert fields == {
        "at": str(int(AT.timestamp() * 1000)),
        "coupon": KEY,
        "campaign": "camp-1",
        "backend": "passkit",
        "outcome": "redeemed",
        "coupon_id": "coupon-a",
        "offer": "offer-1",
        "store": "paris",
        "employee": "ana",
        "staff_method": "pin",
        "reference": f"{KEY}-n1",
        "code": "K7QX",
        "retry": "0",
        "replay": "0",
    }
    assert "member-1" not in str(fields)


async def test_the_raw_external_id_is_recorded_only_when_asked(redis: Redis) -> None:
    """`external_ids` adds the raw externalId, for reconciliation against another system."""
    await redis.set(MEMORY, 0)
    await settle_one(RedisClaims(redis, audit=trail(redis, external_ids=True)))
    ((_, fields),) = await entries(redis)
    assert fields["external_id"] == "member-1"


async def test_a_tills_transaction_is_recorded_with_the_redemption(redis: Redis) -> None:
    """The till's reference and amount go into the entry; the code used stays out of it."""
    await redis.set(MEMORY, 0)
    store = RedisClaims(redis, audit=trail(redis))
    await store.claim(KEY, token="t", nonce="n1", lease=5, hold=60, link=LINK)
    till = Till(code="2468", transaction_reference="T-1042", transaction_amount=Decimal("12.50"))
    result = Redemption(Outcome.REDEEMED, LINK, coupon_id="c", till=till)
    await store.settle(
        KEY, token="t", nonce="n1", since=AT, link=LINK, who="", mode="done",
        result=result.with_receipt(f"{KEY}-n1"), keep=60, receipt_ttl=60,
        audit=AuditFacts(at=AT, backend="passkit"),
    )  # fmt: skip
    ((_, fields),) = await entries(redis)
    assert (fields["transaction_reference"], fields["transaction_amount"]) == ("T-1042", "12.50")
    assert "2468" not in fields.values()


async def test_entries_older_than_the_retention_are_trimmed(redis: Redis) -> None:
    """The XADD trims by MINID: an entry settled long ago goes once newer ones arrive."""
    await redis.set(MEMORY, 0)
    short = RedisClaims(redis, audit=AuditTrail(redis, retention_days=1))
    old = int((datetime.now(UTC) - timedelta(days=3)).timestamp() * 1000)
    for sequence in range(300):  # MINID ~ trims whole nodes (of 100 entries) only
        await redis.xadd(STREAM, {"at": "0"}, id=f"{old}-{sequence}")
    await settle_one(short, at=datetime.now(UTC))
    assert await redis.xlen(STREAM) <= 100


async def test_a_redis_that_lost_its_scripts_still_settles_and_records_once(
    audited: RedisClaims, redis: Redis
) -> None:
    """After SCRIPT FLUSH (a restart), the settle runs again alone: one entry, not two."""
    claim = await audited.claim(KEY, token="t", nonce="n1", lease=5, hold=60, link=LINK)
    assert claim.kind is ClaimKind.CLAIMED
    await redis.script_flush()
    result = Redemption(Outcome.REDEEMED, LINK, coupon_id="c").with_receipt(f"{KEY}-n1")
    settled = await audited.settle(
        KEY, token="t", nonce="n1", since=AT, link=LINK, who="", mode="done", result=result,
        keep=60, receipt_ttl=60, audit=AuditFacts(at=AT, backend="passkit"),
    )  # fmt: skip
    assert settled is Settled.OWNED
    assert await redis.xlen(STREAM) == 1


async def test_a_time_range_reads_the_entries_settled_within_it(
    audited: RedisClaims, redis: Redis
) -> None:
    """`entries(since, until)`: since inclusive, until exclusive, by the time Redis added them."""
    reader = trail(redis)
    times = [AT + timedelta(seconds=second) for second in range(3)]
    for index, at in enumerate(times):
        await redis.xadd(STREAM, {"retry": str(index)}, id=f"{int(at.timestamp() * 1000)}-0")
    found = [entry async for entry in reader.entries(times[0], times[2])]
    assert [entry.fields["retry"] for entry in found] == ["0", "1"]
