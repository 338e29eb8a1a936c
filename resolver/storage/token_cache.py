"""Upstream access tokens shared by every replica through Redis, refreshed by one caller at a time.

An OAuth access token (Google's last an hour) is worth reusing: fetching one per request would
cost a round trip to the token endpoint and hit its quotas. So a token lives in Redis, beside
the moment it is due for renewal, until shortly before it expires. Whoever finds it due takes a
Redis lock and fetches a new one while everyone else keeps using the old one; whoever finds no
usable token at all waits briefly for the caller holding the lock. The lock is redis-py's own
`Lock` (SET NX PX with a random token, released by a script that checks the token, so a caller
whose lock ran out can never release a newer holder's); a new `Lock` is made per attempt,
because one `Lock` object must never be shared between tasks. Each process also keeps the
token it last saw, so most requests cost no Redis round trip at all.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from redis.exceptions import RedisError

from resolver.domain.errors import StoreUnavailable, UpstreamUnreachable

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from redis.asyncio.lock import Lock

    from resolver.domain.tokens import Token
    from resolver.storage.topologies import Client

# Renew this long before expiry, while the old token still works for everyone else.
RENEW_BEFORE_S = 300.0
# Never hand out a token in its last minute: a request may take that long to be checked.
USABLE_UNTIL_S = 60.0
# The lock outlives the slowest token fetch (connect retries and all), then frees itself.
LOCK_LEASE_S = 30.0
# How long a caller with no usable token waits for another caller's refresh.
WAIT_S = 5.0
POLL_S = 0.05

# Deletes the shared token only if it is still the one the back end refused.
FORGET = """
local stored = redis.call('GET', KEYS[1])
if stored and cjson.decode(stored)['v'] == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


@dataclass(frozen=True, slots=True)
class _Cached:
    value: str
    renew_at: float


class SharedTokens:
    """Access tokens by name (one per upstream account), cached in Redis for every replica."""

    def __init__(
        self,
        redis: Client,
        *,
        clock: Callable[[], float] = time.time,
        wait: float = WAIT_S,
        lease: float = LOCK_LEASE_S,
    ) -> None:
        self._redis = redis
        self._clock = clock
        self._wait = wait
        self._lease = lease
        self._local: dict[str, _Cached] = {}
        self._forget = redis.register_script(FORGET)

    async def token(self, name: str, fetch: Callable[[], Awaitable[Token]]) -> str:
        """A usable token for `name`, calling `fetch` only when this caller must refresh it.

        Raises `UpstreamUnreachable` when another caller's refresh takes too long and no token
        is usable meanwhile (nothing was sent upstream), and `StoreUnavailable` when Redis fails.
        """
        local = self._local.get(name)
        if local is not None and self._clock() < local.renew_at:
            return local.value
        cached = await self._read(name)
        if cached is not None and self._clock() < cached.renew_at:
            self._local[name] = cached
            return cached.value
        lock = self._lock(name)
        if not await self._acquire(lock):
            if cached is not None:  # due for renewal but still valid, and someone is renewing
                return cached.value
            waited = await self._wait_for(name, lock)
            if waited is not None:
                return waited
        try:
            fresh = await self._read(name)  # a refresh may have finished while we waited
            if fresh is not None and self._clock() < fresh.renew_at:
                self._local[name] = fresh
                return fresh.value
            token = await fetch()
            self._local[name] = await self._write(name, token)
            return token.value
        finally:
            await self._release(lock)

    async def forget(self, name: str, value: str) -> None:
        """Drop `value` (a token the back end refused), here and in Redis, if still current."""
        local = self._local.get(name)
        if local is not None and local.value == value:
            del self._local[name]
        try:
            await self._forget(keys=[_key(name)], args=[value])
        except RedisError as error:
            raise StoreUnavailable(f"Redis: {type(error).__name__}") from error

    async def _wait_for(self, name: str, lock: Lock) -> str | None:
        """The token another caller is fetching, or None once `lock` is ours to fetch it."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._wait
        while loop.time() < deadline:
            await asyncio.sleep(POLL_S)
            cached = await self._read(name)
            if cached is not None:
                return cached.value
            if await self._acquire(lock):
                return None
        raise UpstreamUnreachable("the upstream access token is being refreshed elsewhere")

    def _lock(self, name: str) -> Lock:
        return self._redis.lock(
            f"{_key(name)}:lock",
            timeout=self._lease,
            raise_on_release_error=False,  # a lock that ran out has freed itself already
        )

    async def _acquire(self, lock: Lock) -> bool:
        try:
            return bool(await lock.acquire(blocking=False))
        except RedisError as error:
            raise StoreUnavailable(f"Redis: {type(error).__name__}") from error

    async def _release(self, lock: Lock) -> None:
        with contextlib.suppress(RedisError):  # the lock frees itself when its lease runs out
            await lock.release()

    async def _read(self, name: str) -> _Cached | None:
        try:
            raw = await self._redis.get(_key(name))
        except RedisError as error:
            raise StoreUnavailable(f"Redis: {type(error).__name__}") from error
        if not raw:
            return None
        data = json.loads(raw)
        return _Cached(str(data["v"]), float(data["r"]))

    async def _write(self, name: str, token: Token) -> _Cached:
        now = self._clock()
        lifetime = max(token.expires_at - now, 1.0)
        # A short-lived token (a test, a stingy server) is renewed halfway through its life.
        cached = _Cached(token.value, token.expires_at - min(RENEW_BEFORE_S, lifetime / 2))
        keep_ms = int((lifetime - min(USABLE_UNTIL_S, lifetime / 4)) * 1000)
        payload = json.dumps({"v": cached.value, "r": cached.renew_at})
        try:
            await self._redis.set(_key(name), payload, px=max(keep_ms, 1))
        except RedisError as error:
            raise StoreUnavailable(f"Redis: {type(error).__name__}") from error
        return cached


def _key(name: str) -> str:
    return f"rr:token:{name}"
