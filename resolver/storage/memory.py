"""Knowing when Redis may have forgotten what the service wrote (docs/reliability.md).

Claims read the memory marker (`resolver.scripts`): when it is missing, Redis lost its data and
the claim that notices marks the moment. Two cases need more than that:

- At start-up, a missing marker means either a new Redis or one that lost its data. If no other
  resolver process is connected, nobody can have a redemption in flight, so the marker is
  simply created; otherwise the loss is marked as it would be by a claim.
- A server that restarted (with or without its data, since the last writes before a crash may
  be lost) or a replica promoted in a failover has another run id. Each process watches the run
  id of the server it talks to and marks a loss when it changes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import structlog
from redis.exceptions import RedisError

from resolver.domain.errors import StoreUnavailable
from resolver.storage.redis import CLIENT_PREFIX

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from resolver.storage.claims import RedisClaims

log = structlog.get_logger("resolver.memory")


class Memory:
    """Watches one process's Redis for a loss of memory."""

    def __init__(self, redis: Redis, store: RedisClaims, name: str) -> None:
        self._redis = redis
        self._store = store
        self._name = name
        self._run_id: str | None = None

    async def start(self) -> None:
        """Adopt the marker, creating it (as new, or as a loss when others are about).

        A Redis that cannot be reached yet is no reason not to start (readiness says so); the
        marker is adopted when the connection comes back.
        """
        try:
            await self._adopt()
        except RedisError as error:
            log.warning("redis_unreachable_at_start", error=type(error).__name__)

    async def reconnected(self) -> None:
        """After a broken connection: if the server is another one now, it may have forgotten."""
        try:
            if self._run_id is None:
                await self._adopt()
                return
            run_id = await self._current_run_id()
            if run_id != self._run_id:
                log.warning("redis_forgot", reason="server changed")
                await self._store.forgot()
            self._run_id = run_id
        except (RedisError, StoreUnavailable):
            return  # still away: the next reconnection checks again

    async def _adopt(self) -> None:
        run_id = await self._current_run_id()
        marker = self._store.memory_key("")
        if not await self._redis.exists(marker):
            others = await self._others()
            if others:
                log.warning("redis_forgot", reason="memory marker missing", others=others)
                await self._store.forgot()
            else:
                await self._redis.set(marker, 0, nx=True)
        self._run_id = run_id

    async def _current_run_id(self) -> str:
        info = await self._redis.info("server")
        return str(info.get("run_id", ""))

    async def _others(self) -> int:
        """How many connections of other resolver processes this Redis has."""
        own = self._name
        clients = await self._redis.client_list()
        return sum(
            1
            for client in clients
            if str(client.get("name", "")).startswith(CLIENT_PREFIX) and client.get("name") != own
        )
