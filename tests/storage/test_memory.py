"""Redis that forgets: a flush or a restart with redemptions in flight, a new process on an
emptied Redis, a server that changed. At most one redeem per coupon whatever Redis forgets,
against a back end that would accept a second one (respx at PassKit's network boundary)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis

from resolver.app import create_app
from resolver.domain.coupons import Link
from resolver.domain.errors import StoreUnavailable
from resolver.domain.redemptions import Outcome, Redemption
from resolver.redemption import Redemptions
from resolver.settings import Settings
from resolver.storage.claims import MEMORY, RedisClaims
from resolver.storage.memory import Memory
from tests.conftest import serving
from tests.support.passkit import PassKitDouble
from tests.support.redis_server import RedisServer
from tests.support.transport import closed_write

IN_FLIGHT = 30


def links(count: int = IN_FLIGHT) -> list[Link]:
    return [Link("camp-1", f"member-{number}") for number in range(count)]


async def started(redemptions: Redemptions, passkit: PassKitDouble) -> list[asyncio.Task[Any]]:
    """A redemption of every link, each PUT already on its way to PassKit."""
    tasks = [asyncio.create_task(redemptions.redeem(link)) for link in links()]
    while len(passkit.redeem_bodies) < IN_FLIGHT:  # noqa: ASYNC110  # until all are upstream
        await asyncio.sleep(0.01)
    return tasks


async def answers(tasks: list[asyncio.Task[Any]]) -> list[str]:
    """Each task's outcome, with "unavailable" for a Redis that could not be reached."""
    done = await asyncio.gather(*tasks, return_exceptions=True)
    outcomes = []
    for result in done:
        if isinstance(result, StoreUnavailable):
            outcomes.append("unavailable")
        else:
            assert isinstance(result, Redemption), result
            outcomes.append(result.outcome.value)
    return outcomes


async def ping(redemptions: Redemptions) -> None:
    """One command through the process's own pool."""
    store = redemptions.store
    assert isinstance(store, RedisClaims)
    await store.ping()


async def reachable(redemptions: Redemptions) -> None:
    """Until this process's pool talks to the restarted server again."""
    for _ in range(200):
        try:
            await ping(redemptions)
        except StoreUnavailable:
            await asyncio.sleep(0.01)
        else:
            return
    raise AssertionError("Redis did not come back")


@pytest.fixture
def accepting(passkit: PassKitDouble) -> PassKitDouble:
    """PassKit with slow redeems and no single-use rule: only the resolver prevents repeats."""
    for link in links():
        passkit.add(link.external_id)
    passkit.accept_repeats = True
    passkit.latency = 0.5
    return passkit


@pytest.fixture
async def redemptions(
    make_settings: Callable[..., Settings], redis: Redis, accepting: PassKitDouble
) -> AsyncIterator[Redemptions]:
    async with serving(create_app(make_settings())) as services:
        yield services.redemptions


async def test_a_flush_with_redemptions_in_flight_redeems_nothing_twice(
    redemptions: Redemptions, accepting: PassKitDouble, redis: Redis
) -> None:
    """FLUSHALL while 30 redeems are upstream, then every coupon tapped again at once: no
    coupon is redeemed twice, and once the first attempts settle, repeats are told so."""
    first = await started(redemptions, accepting)
    await redis.flushall()
    again = [asyncio.create_task(redemptions.redeem(link)) for link in links()]
    assert set(await answers(first)) == {"redeemed"}
    assert set(await answers(again)) <= {"in_progress", "already_redeemed"}
    later = await answers([asyncio.create_task(redemptions.redeem(link)) for link in links()])
    assert set(later) == {"already_redeemed"}  # the first attempts recorded what they knew
    assert set(accepting.applied.values()) == {1}
    assert len(accepting.applied) == IN_FLIGHT


async def test_a_restart_with_an_empty_dataset_redeems_nothing_twice(
    make_settings: Callable[..., Settings], accepting: PassKitDouble, tmp_path: Path
) -> None:
    """Redis killed and back empty while 30 redeems are upstream, then every coupon tapped
    again at once: no second redeem, the taps are told to come back."""
    with RedisServer(tmp_path) as server:
        async with serving(create_app(make_settings(redis_url=server.url))) as services:
            redemptions = services.redemptions
            first = await started(redemptions, accepting)
            server.restart()
            await reachable(redemptions)
            again = [asyncio.create_task(redemptions.redeem(link)) for link in links()]
            assert set(await answers(first)) == {"redeemed"}
            assert set(await answers(again)) <= {"in_progress", "already_redeemed"}
    assert set(accepting.applied.values()) == {1}


async def test_a_new_process_on_a_new_redis_redeems_at_once(
    redemptions: Redemptions, accepting: PassKitDouble, redis: Redis
) -> None:
    """Nobody else was connected when the marker was made: nothing to wait for."""
    assert await redis.get(MEMORY) == "0"
    assert (await redemptions.redeem(links(1)[0])).outcome is Outcome.REDEEMED


async def test_a_process_that_finds_others_but_no_marker_waits_out_their_leases(
    make_settings: Callable[..., Settings], accepting: PassKitDouble, redis: Redis
) -> None:
    """Redis was emptied under a running replica; a replica starting now cannot know what the
    other has in flight, so claims wait (answered in progress) instead of redeeming."""
    one = create_app(make_settings())
    async with one.router.lifespan_context(one):
        await redis.flushall()
        two = create_app(make_settings())
        async with two.router.lifespan_context(two) as state:
            assert state is not None
            result = await state["services"].redemptions.redeem(links(1)[0])
    assert result.outcome is Outcome.IN_PROGRESS
    assert result.retry_after is not None
    assert result.retry_after > 5
    assert accepting.redeem_calls == 0


async def test_a_server_that_restarted_with_its_data_is_still_doubted(
    make_settings: Callable[..., Settings], accepting: PassKitDouble, tmp_path: Path
) -> None:
    """A restart keeps the append-only file but may have lost the last writes: when the server
    changes, claims wait and read back as after a flush."""
    with RedisServer(tmp_path, persistent=True) as server:
        async with serving(create_app(make_settings(redis_url=server.url))) as services:
            redemptions = services.redemptions
            client = Redis.from_url(server.url, decode_responses=True)
            assert await client.get(MEMORY) == "0"
            await client.aclose()
            server.restart()
            for _ in range(500):  # the subscription comes back within a second
                client = Redis.from_url(server.url, decode_responses=True)
                marker = await client.get(MEMORY)
                await client.aclose()
                if marker not in (None, "0"):
                    break
                await asyncio.sleep(0.01)
            result = await redemptions.redeem(links(1)[0])
    assert marker not in (None, "0")
    assert result.outcome is Outcome.IN_PROGRESS
    assert accepting.redeem_calls == 0


async def test_a_connection_closed_under_the_watch_keeps_it_watching(
    redis: Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    """redis-py 8.1 lets a write on a connection closed under it out as an AttributeError: the
    watch takes it for Redis being away and looks again, rather than dying with it."""
    memory = Memory(redis, RedisClaims(redis), "resolver-test")
    await memory.start()
    monkeypatch.setattr(redis, "info", closed_write())
    await memory.reconnected()
    monkeypatch.undo()
    await redis.flushall()
    memory._run_id = "another server"  # as if it had restarted meanwhile
    await memory.reconnected()
    assert await redis.get(MEMORY) not in (None, "0")


async def test_processes_starting_together_on_a_new_redis_redeem_at_once(
    make_settings: Callable[..., Settings], accepting: PassKitDouble, redis: Redis
) -> None:
    """Workers starting side by side see each other, but neither has served yet: nothing can
    be in flight, so the new Redis is no loss of memory and nobody waits."""
    await redis.flushall()
    apps = [create_app(make_settings()) for _ in range(3)]
    async with contextlib.AsyncExitStack() as stack:
        states = await asyncio.gather(
            *(stack.enter_async_context(app.router.lifespan_context(app)) for app in apps)
        )
        assert await redis.get(MEMORY) == "0"
        assert states[0] is not None
        result = await states[0]["services"].redemptions.redeem(links(1)[0])
    assert result.outcome is Outcome.REDEEMED


async def test_a_marker_created_while_looking_for_others_is_adopted_not_overwritten(
    redis: Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A process starting beside one that has just created the marker (as new) finds the
    marker missing, then the other serving: the marker is the other's to keep, not a loss."""
    await redis.flushall()
    memory = Memory(redis, RedisClaims(redis), "resolver-late")

    async def serving_meanwhile(_: object) -> int:
        await redis.set(MEMORY, 0)  # the other process adopted the new Redis in between
        return 1

    monkeypatch.setattr(memory, "_others", serving_meanwhile)
    await memory.start()
    assert await redis.get(MEMORY) == "0"
