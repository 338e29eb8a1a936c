"""The sandbox's receiver of outbound events: it records every try and verifies each with the
`standardwebhooks` library; it can fail or hang on demand."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from resolver_sandbox.receiver import DEMO_WEBHOOK_SECRET
from standardwebhooks import Webhook

from resolver.events.delivery import signed_headers

if TYPE_CHECKING:
    import httpx

BODY = json.dumps({"type": "coupon.redeemed", "timestamp": "2026-05-04T12:00:00.000Z", "data": {}})


def signed(secret: str = DEMO_WEBHOOK_SECRET, at: datetime | None = None) -> dict[str, str]:
    return signed_headers(Webhook(secret), "msg_1-0", BODY, at or datetime.now(UTC))


async def test_a_signed_delivery_is_accepted_and_recorded_as_verified(
    client: httpx.AsyncClient,
) -> None:
    """204, and the record names the endpoint, the id and the type."""
    answer = await client.post("/hooks/crm", content=BODY, headers=signed())
    assert answer.status_code == 204
    (record,) = (await client.get("/_sandbox/hooks")).json()
    assert (record["endpoint"], record["webhook_id"], record["type"]) == (
        "crm", "msg_1-0", "coupon.redeemed",
    )  # fmt: skip
    assert record["verified"] is True


async def test_a_forged_or_stale_delivery_is_refused_and_recorded_as_unverified(
    client: httpx.AsyncClient,
) -> None:
    """Another secret, or a timestamp 10 minutes old: 401, verified false."""
    other = "whsec_" + "b3RoZXItc2VjcmV0LW9mLTMyLWJ5dGVzLWxvbmcuLi4="
    stale = signed(at=datetime.now(UTC) - timedelta(minutes=10))
    for headers in (signed(other), stale):
        assert (await client.post("/hooks/crm", content=BODY, headers=headers)).status_code == 401
    assert [r["verified"] for r in (await client.get("/_sandbox/hooks")).json()] == [False, False]


async def test_faults_fail_the_next_deliveries_then_clear(client: httpx.AsyncClient) -> None:
    """fail_next answers 503 that many times, then 204 again."""
    await client.put("/_sandbox/hooks/faults", json={"fail_next": 2})
    statuses = [
        (await client.post("/hooks/crm", content=BODY, headers=signed())).status_code
        for _ in range(3)
    ]
    assert statuses == [503, 503, 204]
    assert (await client.delete("/_sandbox/hooks")).status_code == 204
    assert (await client.get("/_sandbox/hooks")).json() == []
