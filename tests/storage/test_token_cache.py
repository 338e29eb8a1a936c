"""Shared access tokens: one fetch for every replica, renewal by one caller, a bounded wait."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import pytest

from resolver.domain.errors import UpstreamUnreachable
from resolver.domain.tokens import Token
from resolver.storage.token_cache import SharedTokens
from tests.support.topologies import redis_url_on_every_topology  # noqa: F401  # a fixture

if TYPE_CHECKING:
    from redis.asyncio import Redis


class Clock:
    """A settable clock, in seconds since the epoch."""

    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


class Issuer:
    """A token endpoint that counts its calls and may be slow."""

    def __init__(self, clock: Clock, delay: float = 0.0) -> None:
        self.clock = clock
        self.delay = delay
        self.calls = 0

    async def fetch(self) -> Token:
        self.calls += 1
        if self.delay:
            await asyncio.sleep(self.delay)
        return Token(f"token-{self.calls}", self.clock.now + 3600)


async def test_one_fetch_serves_every_replica(redis: Redis) -> None:
    """A token fetched by one replica is found in Redis by another, with no second fetch."""
    clock = Clock()
    issuer = Issuer(clock)
    first, second = SharedTokens(redis, clock=clock), SharedTokens(redis, clock=clock)
    assert await first.token("google:a", issuer.fetch) == "token-1"
    assert await second.token("google:a", issuer.fetch) == "token-1"
    assert issuer.calls == 1


async def test_concurrent_callers_without_a_token_fetch_once(redis: Redis) -> None:
    """Fifty callers on two replicas find no token: one fetches, the others wait for it."""
    clock = Clock()
    issuer = Issuer(clock, delay=0.05)
    replicas = [SharedTokens(redis, clock=clock), SharedTokens(redis, clock=clock)]
    tokens = await asyncio.gather(
        *(replicas[i % 2].token("google:a", issuer.fetch) for i in range(50))
    )
    assert set(tokens) == {"token-1"}
    assert issuer.calls == 1


async def test_a_token_due_for_renewal_is_still_used_while_one_caller_renews_it(
    redis: Redis,
) -> None:
    """Five minutes before expiry one caller refreshes; meanwhile the others keep the old token."""
    clock = Clock()
    issuer = Issuer(clock)
    tokens = SharedTokens(redis, clock=clock)
    await tokens.token("google:a", issuer.fetch)
    clock.now += 3600 - 200
    issuer.delay = 0.1
    renewing = asyncio.create_task(tokens.token("google:a", issuer.fetch))
    await asyncio.sleep(0.02)
    meanwhile = await SharedTokens(redis, clock=clock).token("google:a", issuer.fetch)
    assert meanwhile == "token-1"
    assert await renewing == "token-2"
    assert issuer.calls == 2


async def test_an_expired_token_is_never_handed_out(redis: Redis) -> None:
    """In its last minute the token is gone from Redis and a new one is fetched."""
    clock = Clock()
    issuer = Issuer(clock)
    await SharedTokens(redis, clock=clock).token("google:a", issuer.fetch)
    await redis.delete("rr:token:google:a")  # what Redis does when the key's time is up
    clock.now += 3600 - 30
    assert await SharedTokens(redis, clock=clock).token("google:a", issuer.fetch) == "token-2"


async def test_forgetting_a_refused_token_makes_the_next_caller_fetch(redis: Redis) -> None:
    """A token the back end refused is dropped only if it is still the current one."""
    clock = Clock()
    issuer = Issuer(clock)
    tokens = SharedTokens(redis, clock=clock)
    await tokens.token("google:a", issuer.fetch)
    await tokens.forget("google:a", "some-older-token")
    assert await SharedTokens(redis, clock=clock).token("google:a", issuer.fetch) == "token-1"
    await tokens.forget("google:a", "token-1")
    assert await tokens.token("google:a", issuer.fetch) == "token-2"


async def test_a_refresh_that_takes_too_long_elsewhere_is_a_clear_failure(redis: Redis) -> None:
    """With no usable token and the lock held past the wait, nothing is sent: unreachable."""
    clock = Clock()
    slow = Issuer(clock, delay=0.5)
    holder = asyncio.create_task(SharedTokens(redis, clock=clock).token("google:a", slow.fetch))
    await asyncio.sleep(0.05)
    impatient = SharedTokens(redis, clock=clock, wait=0.1)
    with pytest.raises(UpstreamUnreachable):
        await impatient.token("google:a", Issuer(clock).fetch)
    assert await holder == "token-1"


async def test_each_account_has_its_own_token(redis: Redis) -> None:
    """Two accounts never share a token."""
    clock = Clock()
    issuer = Issuer(clock)
    tokens = SharedTokens(redis, clock=clock)
    assert await tokens.token("google:a", issuer.fetch) == "token-1"
    assert await tokens.token("google:b", issuer.fetch) == "token-2"
