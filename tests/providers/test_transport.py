"""Several small connection pools behave like one big one, minus its bookkeeping cost."""

from __future__ import annotations

import httpx
import pytest
import respx

from resolver.providers.transport import POOL_SIZE, PoolsTransport


def test_connections_are_split_into_small_pools() -> None:
    """200 connections become pools of at most POOL_SIZE, together at least 200."""
    transport = PoolsTransport(200, retries=2, keepalive_expiry=30)
    sizes = [pool._pool._max_connections for pool in transport._pools]
    assert all(size <= POOL_SIZE for size in sizes)
    assert sum(sizes) >= 200
    assert len(PoolsTransport(1, retries=0, keepalive_expiry=5)._pools) == 1


async def test_requests_take_turns_and_errors_keep_their_kind() -> None:
    """Answers come through unchanged, and a refused connection is still a ConnectError."""
    with respx.mock(base_url="https://upstream.test") as router:
        router.get("/ok").respond(200, json={"ok": True})
        router.get("/refused").mock(side_effect=httpx.ConnectError("refused"))
        async with httpx.AsyncClient(
            base_url="https://upstream.test",
            transport=PoolsTransport(64, retries=0, keepalive_expiry=30),
        ) as client:
            answers = [await client.get("/ok") for _ in range(8)]
            with pytest.raises(httpx.ConnectError):
                await client.get("/refused")
    assert {answer.json()["ok"] for answer in answers} == {True}
