"""Liveness and readiness."""

from __future__ import annotations

from typing import TYPE_CHECKING

from resolver.app import create_app
from resolver.draining import Drain
from tests.conftest import running

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    import httpx
    from redis.asyncio import Redis

    from resolver.settings import Settings
    from tests.support.passkit import PassKitDouble


async def test_healthz_is_ok_without_io(client: httpx.AsyncClient, passkit: PassKitDouble) -> None:
    """Alive means the process answers; nothing upstream is called."""
    answer = await client.get("/healthz")
    assert answer.status_code == 200
    assert answer.json() == {"status": "ok"}
    assert passkit.calls == 0


async def test_readyz_reports_its_parts_without_saying_where_they_are(
    client: httpx.AsyncClient,
) -> None:
    """Ready when Redis answers; the upstream is "configured", never its address."""
    answer = await client.get("/readyz")
    assert answer.status_code == 200
    assert answer.json() == {"status": "ready", "checks": {"redis": "ok", "upstream": "configured"}}
    assert "passkit.test" not in answer.text


async def test_readyz_says_draining_from_the_moment_the_drain_begins(
    settings: Settings, passkit: PassKitDouble, redis: Redis
) -> None:
    """Once told to stop, the process sends new work elsewhere: 503 draining; it stays alive."""
    drain = Drain()
    async with running(create_app(settings, drain=drain)) as client:
        assert (await client.get("/readyz")).status_code == 200
        drain.begin()
        answer = await client.get("/readyz")
        assert (await client.get("/healthz")).status_code == 200
    assert (answer.status_code, answer.json()) == (503, {"status": "draining"})


async def test_readyz_names_redis_when_it_is_unreachable(
    make_settings: Callable[..., Settings], passkit: PassKitDouble, tmp_path: Path
) -> None:
    """503 with `failing: ["redis"]`; the process itself stays alive."""
    settings = make_settings(redis_url=f"unix://{tmp_path}/absent.sock", redis_timeout=0.2)
    async with running(create_app(settings)) as client:
        answer = await client.get("/readyz")
        assert (await client.get("/healthz")).status_code == 200
    assert answer.status_code == 503
    assert answer.json() == {
        "status": "unavailable",
        "failing": ["redis"],
        "checks": {"redis": "unreachable", "upstream": "configured"},
    }


async def test_without_redis_redemptions_are_refused_not_unprotected(
    make_settings: Callable[..., Settings], passkit: PassKitDouble, tmp_path: Path
) -> None:
    """Fail closed: no duplicate protection means no redemption (503), and PassKit is untouched."""
    passkit.add("member-1")
    settings = make_settings(redis_url=f"unix://{tmp_path}/absent.sock", redis_timeout=0.2)
    link = {"externalId": "member-1", "campaignId": "camp-1"}
    async with running(create_app(settings)) as client:
        answer = await client.post("/api/v1/redeem", params=link)
        page = await client.post("/redeem", data=link | {"token": "a-well-formed-token-1234"})
    assert answer.status_code == 503
    assert answer.json()["outcome"] == "unavailable"
    assert page.status_code == 503
    assert "Temporarily unavailable" in page.text
    assert passkit.redeem_calls == 0
