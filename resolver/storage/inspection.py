"""What a Redis says about itself that decides whether claims can be trusted to it: its
version, role, eviction policy, memory headroom and persistence (`resolver check`).

Everything comes from `INFO`, which managed Redis services allow; the RDB save schedule needs
`CONFIG GET`, which many of them refuse, so it may stay unknown.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from redis.asyncio import RedisCluster
from redis.exceptions import ResponseError

from resolver.domain.errors import StoreUnavailable
from resolver.storage.redis import call

if TYPE_CHECKING:
    from resolver.storage.topologies import Client


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


async def inspect(redis: Client) -> RedisFacts:
    """The facts of the server `redis` talks to; `StoreUnavailable` when it does not answer.

    In a Cluster, those of one primary (the client's default node): a Cluster's nodes are
    configured alike, and a replica's role would read as a misconfiguration."""
    if isinstance(redis, RedisCluster):
        node = redis.get_default_node()
        info = await call(redis.info(target_nodes=node))
        get_config = redis.config_get("save", target_nodes=node)
    else:
        info = await call(redis.info())
        get_config = redis.config_get("save")
    schedule: str | None
    try:
        schedule = str((await call(get_config)).get("save", ""))
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
