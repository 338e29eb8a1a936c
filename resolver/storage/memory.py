"""Knowing when Redis may have forgotten what the service wrote (docs/reliability.md).

Claims read the memory marker (`resolver.scripts`): when it is missing, Redis lost its data and
the claim that notices marks the moment. Two cases need more than that:

- At start-up, a missing marker means either a new Redis or one that lost its data. If no other
  resolver process is connected, nobody can have a redemption in flight, so the marker is
  simply created; otherwise the loss is marked as it would be by a claim. A process looks on a
  connection of its own named as starting (`starting_name`), before its pool has connected, and
  counts no other process that is starting too: none of them has served, so workers started
  side by side on a new Redis do not take each other for a loss.
- A server that restarted (with or without its data, since the last writes before a crash may
  be lost) or a replica promoted in a failover has another run id. Each process watches the run
  id of the server it talks to and marks a loss when it changes.

Two exceptions follow the topology. A replica promoted by Sentinel is no loss when every claim
waited for a replica's acknowledgement (`RedisClaims(replica_acks=…)`): it holds every claim
that could have redeemed, and a result it missed leaves the claim to run out and be read back.
A Cluster has a marker per slot and a run id per primary, and a missing slot marker is found by
the first script to touch the slot, like a missing `rr:m`. With Sentinel or a Cluster, each
process also looks at the run ids every `WATCH_SECONDS`: a failover breaks no connection of
the old master's subscribers, so the subscription alone would never tell (`on_change` then
moves it to the new master).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING, Any

import structlog
from redis.asyncio import RedisCluster

from resolver.storage import topologies
from resolver.storage.redis import CLIENT_PREFIX, STARTING_PREFIX, call, unreachable

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from resolver.storage.claims import RedisClaims
    from resolver.storage.topologies import Client

log = structlog.get_logger("resolver.memory")

WATCH_SECONDS = 1.0
# Sets the markers of several slots, all on the node it runs on (Redis 7 allows a script that
# says so to touch keys of several slots of its own node).
CREATE_MARKERS = """#!lua flags=allow-cross-slot-keys
for i = 1, #ARGV do redis.call('SET', ARGV[i], 0, 'NX') end
return #ARGV
"""
# The replication id a server has kept from before it was promoted is all zeros when it never
# was a replica (a master that restarted).
NEVER_PROMOTED = "0" * 40


class Memory:
    """Watches one process's Redis for a loss of memory."""

    def __init__(
        self, redis: Client, store: RedisClaims, name: str, *, acknowledged: bool = False
    ) -> None:
        """`acknowledged`: every claim waited for a replica, so a promoted replica holds them."""
        self._redis = redis
        self._store = store
        self._name = name
        self._acknowledged = acknowledged
        self._run_id: str | None = None
        self._watch: asyncio.Task[None] | None = None
        # Called when the server changed (another run id), after the loss is marked or not.
        self.on_change: Callable[[], Awaitable[None]] | None = None

    async def start(self, starting: Client | None = None) -> None:
        """Adopt the marker, creating it (as new, or as a loss when others are about), looking
        through `starting` (a client named as starting, closed by the caller) when given.

        A Redis that cannot be reached yet is no reason not to start (readiness says so); the
        marker is adopted when the connection comes back.
        """
        try:
            await self._adopt(starting or self._redis)
        except Exception as error:
            if not unreachable(error):
                raise
            log.warning("redis_unreachable_at_start", error=type(error).__name__)
        if self._store.cluster or topologies.is_sentinel(self._redis):
            self._watch = asyncio.create_task(self._watching(), name="resolver-memory-watch")

    async def stop(self) -> None:
        task, self._watch = self._watch, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _watching(self) -> None:
        while True:
            await asyncio.sleep(WATCH_SECONDS)
            await self.reconnected()

    async def reconnected(self) -> None:
        """After a broken connection: if the server is another one now, it may have forgotten."""
        try:
            if self._run_id is None:
                await self._adopt(self._redis)
                return
            run_id = await self._current_run_id(self._redis)
            if run_id != self._run_id:
                if await self._promoted_with_every_claim():
                    log.warning("redis_failed_over", reason="a replica with every claim")
                else:
                    log.warning("redis_forgot", reason="server changed")
                    await self._store.forgot()
                self._run_id = run_id
                if self.on_change is not None:
                    await self.on_change()
            self._run_id = run_id
        except Exception as error:
            if not unreachable(error):
                raise
            # Still away: the next reconnection (or the next look) checks again.

    async def _adopt(self, redis: Client) -> None:
        run_id = await self._current_run_id(redis)
        if isinstance(redis, RedisCluster):
            # One marker per slot, each noticed missing by the first script in its slot; only
            # a process alone with a new Cluster may say it always remembered.
            if not await self._others(redis):
                await self._create_markers(redis)
        elif not await redis.exists(self._store.memory_key("")):
            others = await self._others(redis)
            # Created only if still missing: a process that started beside this one may have
            # found no one else and created it meanwhile, and its "new" stands.
            seconds, micros = await redis.time() if others else (0, 0)
            created = await redis.set(
                self._store.memory_key(""), seconds * 1000 + micros // 1000, nx=True
            )
            if others and created:
                log.warning("redis_forgot", reason="memory marker missing", others=others)
        self._run_id = run_id

    async def _create_markers(self, redis: RedisCluster) -> None:
        """Every slot's marker that is missing, as 0 (remembers everything): one script per
        node, since thousands of single commands through a Cluster pipeline take seconds."""
        await redis.initialize()
        for node, markers in topologies.markers_by_node(redis).items():
            await call(
                redis.execute_command("EVAL", CREATE_MARKERS, 0, *markers, target_nodes=node)
            )

    async def _current_run_id(self, redis: Client) -> str:
        """The server's run id; in a Cluster, every primary's."""
        if isinstance(redis, RedisCluster):
            infos = await redis.info("server", target_nodes=RedisCluster.PRIMARIES)
            return " ".join(sorted(str(info.get("run_id", "")) for info in _per_node(infos)))
        if topologies.is_sentinel(redis):
            # A connection still open to a demoted master is not the server the service uses.
            replication = await redis.info("replication")
            if replication.get("role") != "master" and self._run_id is not None:
                return self._run_id
        info = await redis.info("server")
        return str(info.get("run_id", ""))

    async def _promoted_with_every_claim(self) -> bool:
        """A replica that Sentinel promoted, when claims waited for a replica's ack."""
        if not self._acknowledged or isinstance(self._redis, RedisCluster):
            return False
        info = await self._redis.info("replication")
        return info.get("role") == "master" and info.get("master_replid2") != NEVER_PROMOTED

    async def _others(self, redis: Client) -> int:
        """How many connections of other resolver processes that have started this Redis has."""
        if isinstance(redis, RedisCluster):
            listed = await redis.client_list(target_nodes=RedisCluster.ALL_NODES)
            clients = [client for node in _per_node(listed) for client in node]
        else:
            clients = await redis.client_list()
        names = (str(client.get("name", "")) for client in clients)
        return sum(
            1
            for name in names
            if name.startswith(CLIENT_PREFIX)
            and not name.startswith(STARTING_PREFIX)
            and name != self._name
        )


def _per_node(reply: Any) -> list[Any]:
    """A Cluster's reply from several nodes, one item per node (a dict by node, or one)."""
    return (
        list(reply.values())
        if isinstance(reply, dict)
        and reply
        and all(isinstance(key, str) and ":" in key for key in reply)
        else [reply]
    )
