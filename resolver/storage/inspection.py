"""What a Redis says about itself that decides whether claims can be trusted to it: its
version, role, eviction policy, memory headroom and persistence (`resolver check`).

Everything comes from `INFO`, which managed Redis services allow; the RDB save schedule needs
`CONFIG GET`, which many of them refuse, so it may stay unknown.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from redis.exceptions import ResponseError

from resolver.domain.errors import StoreUnavailable
from resolver.storage.redis import call

if TYPE_CHECKING:
    from redis.asyncio import Redis


@dataclass(frozen=True, slots=True)
class RedisFacts:
    """One Redis server's answers, as it gave them."""

    version: str
    role: str  # "master" or "slave" (a replica refuses writes)
    eviction: str  # maxmemory-policy: "noeviction", "allkeys-lru", …
    used_memory: int
    max_memory: int  # 0: no limit
    aof: bool
    # The RDB schedule ("3600 1 300 100"; "" when off), or None when CONFIG is refused.
    rdb_schedule: str | None


async def inspect(redis: Redis) -> RedisFacts:
    """The facts of the server `redis` talks to; `StoreUnavailable` when it does not answer."""
    info = await call(redis.info())
    schedule: str | None
    try:
        schedule = str((await call(redis.config_get("save"))).get("save", ""))
    except StoreUnavailable as error:
        if not isinstance(error.__cause__, ResponseError):
            raise
        schedule = None  # CONFIG is disabled: managed services rename or forbid it
    return RedisFacts(
        version=str(info.get("redis_version", "?")),
        role=str(info.get("role", "?")),
        eviction=str(info.get("maxmemory_policy", "?")),
        used_memory=int(info.get("used_memory", 0)),
        max_memory=int(info.get("maxmemory", 0)),
        aof=str(info.get("aof_enabled", "0")) == "1",
        rdb_schedule=schedule,
    )
