"""Outbound events from the audit trail: signed, delivered once per group, retried on the
schedule with the same webhook-id, dead-lettered after the last try, replayed on demand."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest
from resolver_sandbox.receiver import DEMO_WEBHOOK_SECRET
from standardwebhooks import Webhook, WebhookVerificationError

from resolver.cli.events import replay
from resolver.events import deliverer as deliverer_module
from resolver.events.retries import Retries
from resolver.storage.audit import AuditTrail
from tests.conftest import settings_for
from tests.events.conftest import SCHEDULE, endpoint

if TYPE_CHECKING:
    from collections.abc import Callable

    from redis.asyncio import Redis
    from resolver_sandbox.receiver import Receiver

    from resolver.events.deliverer import Deliverer
    from tests.conftest import Clock


def entry(outcome: str = "redeemed", **fields: str) -> dict[str, str]:
    at = str(int(datetime.now(UTC).timestamp() * 1000))
    values = {"at": at, "coupon": "k3y", "campaign": "camp-1", "backend": "passkit"}
    return values | {"outcome": outcome, "retry": "0"} | fields


async def settle(redis: Redis, *entries: dict[str, str]) -> list[str]:
    """Entries added to the trail as settles add them; their ids."""
    trail = AuditTrail(redis, retention_days=30)
    return [await trail.append(fields) for fields in entries]


async def test_an_event_is_signed_so_the_librarys_verifier_accepts_it(
    redis: Redis, make_deliverer: Callable[..., Deliverer], receiver: Receiver
) -> None:
    """webhook-id from the entry id, a fresh timestamp, a v1 signature; the body per the spec."""
    deliverer = make_deliverer()
    await deliverer.ensure_group()
    (entry_id,) = await settle(redis, entry(code="K7QX", store="paris"))
    await deliverer.step()
    (delivery,) = receiver.deliveries
    assert delivery.verified
    assert delivery.webhook_id == f"msg_{entry_id}"
    assert delivery.type == "coupon.redeemed"
    assert delivery.body is not None
    data = delivery.body["data"]
    assert (data["verification_code"], data["store_id"], data["audit_id"]) == (
        "K7QX", "paris", entry_id,
    )  # fmt: skip


async def test_each_endpoint_gets_only_the_types_it_asked_for(
    redis: Redis, make_deliverer: Callable[..., Deliverer], receiver: Receiver
) -> None:
    """A filter of coupon.redeemed hears nothing of an expired coupon; "*" hears both."""
    deliverer = make_deliverer(endpoint("all"), endpoint("crm", ("coupon.redeemed",)))
    await deliverer.ensure_group()
    await settle(redis, entry("redeemed"), entry("expired"))
    await deliverer.step()
    heard = sorted((d.endpoint, d.type) for d in receiver.deliveries)
    assert heard == [
        ("all", "coupon.expired"), ("all", "coupon.redeemed"), ("crm", "coupon.redeemed"),
    ]  # fmt: skip


async def test_two_workers_of_one_group_deliver_each_event_once(
    redis: Redis, make_deliverer: Callable[..., Deliverer], receiver: Receiver
) -> None:
    """Replicas share the consumer group: every entry goes to one of them."""
    first = make_deliverer(consumer="a")
    second = make_deliverer(consumer="b")
    await first.ensure_group()
    ids = await settle(redis, *(entry() for _ in range(20)))
    for _ in range(3):
        await first.step()
        await second.step()
    assert sorted(d.webhook_id for d in receiver.deliveries) == sorted(f"msg_{i}" for i in ids)


async def test_a_failing_endpoint_is_retried_on_the_schedule_with_the_same_id(
    redis: Redis, make_deliverer: Callable[..., Deliverer], receiver: Receiver, clock: Clock
) -> None:
    """503, then nothing until the first delay has passed, then a try that succeeds."""
    deliverer = make_deliverer()
    await deliverer.ensure_group()
    receiver.faults.fail_next = 1
    (entry_id,) = await settle(redis, entry())
    await deliverer.step()
    clock.shift = timedelta(seconds=SCHEDULE[0] - 1)
    await deliverer.step()
    assert [d.status for d in receiver.deliveries] == [503]
    clock.shift = timedelta(seconds=SCHEDULE[0])
    await deliverer.step()
    assert [(d.status, d.webhook_id) for d in receiver.deliveries] == [
        (503, f"msg_{entry_id}"), (204, f"msg_{entry_id}"),
    ]  # fmt: skip
    assert await Retries(redis, SCHEDULE).waiting() == 0


async def test_after_the_last_try_it_is_a_dead_letter_that_a_replay_sends(
    redis: Redis,
    make_deliverer: Callable[..., Deliverer],
    receiver: Receiver,
    clock: Clock,
    redis_url: str,
) -> None:
    """Three failed tries → one dead letter; `resolver events replay --dead` → delivered."""
    deliverer = make_deliverer()
    await deliverer.ensure_group()
    receiver.faults.fail_next = 3
    (entry_id,) = await settle(redis, entry())
    await deliverer.step()
    for delay in SCHEDULE:
        clock.shift += timedelta(seconds=delay)
        await deliverer.step()
    retries = Retries(redis, SCHEDULE)
    (letter,) = await retries.dead_letters()
    assert (letter.endpoint, letter.entry, letter.tries, letter.problem) == (
        "crm", entry_id, 3, "503",
    )  # fmt: skip
    settings = settings_for(redis_url)
    assert await replay(settings, redis, dead=True) == 1
    clock.shift = timedelta(0)
    await deliverer.step()
    assert [d.status for d in receiver.deliveries] == [503, 503, 503, 204]
    assert {d.webhook_id for d in receiver.deliveries} == {f"msg_{entry_id}"}
    assert await retries.dead_letters() == []


async def test_a_replay_of_a_time_range_sends_its_events_again(
    redis: Redis, make_deliverer: Callable[..., Deliverer], receiver: Receiver, redis_url: str
) -> None:
    """Delivered already, sent again from the trail: same webhook-id, a new signature."""
    deliverer = make_deliverer()
    await deliverer.ensure_group()
    since = datetime.now(UTC) - timedelta(seconds=1)
    (entry_id,) = await settle(redis, entry())
    await deliverer.step()
    hooks = json.dumps([{"name": "crm", "url": "http://x.test/", "secret": DEMO_WEBHOOK_SECRET}])
    settings = settings_for(redis_url, webhooks=hooks)
    assert await replay(settings, redis, dead=False, since=since) == 1
    await deliverer.step()
    assert [d.webhook_id for d in receiver.deliveries] == [f"msg_{entry_id}"] * 2
    assert all(d.verified for d in receiver.deliveries)


async def test_an_entry_a_dead_worker_read_is_delivered_by_another(
    redis: Redis,
    make_deliverer: Callable[..., Deliverer],
    receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Read and never acknowledged (the worker died): XAUTOCLAIM hands it to a live one."""
    monkeypatch.setattr(deliverer_module, "STALE_SECONDS", 0.0)
    await make_deliverer().ensure_group()
    (entry_id,) = await settle(redis, entry())
    await redis.xreadgroup(deliverer_module.GROUP, "dead", {"rr:audit": ">"}, count=10)
    await make_deliverer(consumer="alive").step()
    assert [d.webhook_id for d in receiver.deliveries] == [f"msg_{entry_id}"]


def test_the_specifications_verifier_rejects_a_changed_body() -> None:
    """The signature covers id, timestamp and body: one byte changed and it fails."""
    from resolver.events.delivery import signed_headers  # noqa: PLC0415

    signer = Webhook(DEMO_WEBHOOK_SECRET)
    headers = signed_headers(signer, "msg_1-0", '{"a":1}', datetime.now(UTC))
    assert signer.verify('{"a":1}', headers) == {"a": 1}
    with pytest.raises(WebhookVerificationError):
        signer.verify('{"a":2}', headers)


async def test_consumers_of_workers_long_gone_leave_the_group(
    redis: Redis, make_deliverer: Callable[..., Deliverer], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Idle past DEPARTED_SECONDS with nothing pending: removed, so restarts do not pile up."""
    monkeypatch.setattr(deliverer_module, "DEPARTED_SECONDS", 0.0)
    await make_deliverer().ensure_group()
    await redis.xreadgroup(deliverer_module.GROUP, "departed", {"rr:audit": ">"}, count=1)
    await make_deliverer(consumer="alive").step()
    names = {c["name"] for c in await redis.xinfo_consumers("rr:audit", deliverer_module.GROUP)}
    assert "departed" not in names
