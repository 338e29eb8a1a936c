"""Which Redis the service talks to, chosen by the URL's scheme, and the one client it opens.

    redis://[user:pass@]host:port[/db]            one server (rediss://: over TLS)
    unix://[user:pass@]/path/to/redis.sock[?db=n] one server on a local socket
    redis+sentinel://[user:pass@]h1:26379,h2:26379/<service>[/db]
                                                  the master Sentinel names (rediss+sentinel://)
    redis+cluster://[user:pass@]h1:7000,h2:7001   a Redis Cluster (rediss+cluster://)

The grammar is the one the `limits` library and others use for Redis. The user and
password authenticate to the data nodes (a Sentinel's master and replicas, every Cluster node);
Sentinels themselves are asked without credentials.

What differs between them for the service: a Cluster routes every command by its keys' slot, so
the memory marker exists once per slot (`memory_marker`), settles are announced on sharded
pub/sub (`resolver.storage.notifier`), and nothing may send a script in a pipeline.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any, Literal, TypeAlias
from urllib.parse import unquote, urlsplit

import redis as sync_redis
import redis.cluster as sync_cluster
import redis.sentinel as sync_sentinel
from redis.asyncio import Redis, RedisCluster
from redis.asyncio.cluster import ClusterNode
from redis.asyncio.sentinel import Sentinel, SentinelConnectionPool
from redis.crc import REDIS_CLUSTER_HASH_SLOTS, key_slot

from resolver.storage.pools import BlockingPool, BlockingSentinelPool

# Every client the service opens: one server (standalone or Sentinel's master) or a Cluster.
Client: TypeAlias = Redis | RedisCluster
Kind = Literal["standalone", "sentinel", "cluster"]

SCHEMES: dict[str, tuple[Kind, bool]] = {
    "redis": ("standalone", False),
    "rediss": ("standalone", True),
    "unix": ("standalone", False),
    "redis+sentinel": ("sentinel", False),
    "rediss+sentinel": ("sentinel", True),
    "redis+cluster": ("cluster", False),
    "rediss+cluster": ("cluster", True),
}
DEFAULT_PORTS: dict[Kind, int] = {"standalone": 6379, "sentinel": 26379, "cluster": 6379}
# An idle connection is pinged before use after this long: a Redis that restarted or a
# balancer that dropped the connection is noticed before a claim is sent on it.
HEALTH_CHECK_SECONDS = 30


@dataclass(frozen=True, slots=True)
class Topology:
    """What a Redis URL names; `ValueError` from `parse` says what is wrong with it."""

    kind: Kind
    url: str
    tls: bool = False
    hosts: tuple[tuple[str, int], ...] = ()
    service: str = ""
    db: int = 0
    username: str | None = field(default=None, repr=False)
    password: str | None = field(default=None, repr=False)


def parse(url: str) -> Topology:
    """The topology `url` names (see the module's docstring for the grammar)."""
    scheme = url.partition("://")[0].lower()
    if scheme not in SCHEMES or "://" not in url:
        raise ValueError(f"must start with one of {', '.join(s + '://' for s in SCHEMES)}")
    kind, tls = SCHEMES[scheme]
    if kind == "standalone":
        return Topology(kind, url, tls)
    parts = urlsplit(url)
    credentials, _, hostlist = parts.netloc.rpartition("@")
    username, _, password = credentials.partition(":")
    hosts = tuple(_host(item, DEFAULT_PORTS[kind]) for item in hostlist.split(",") if item)
    if not hosts:
        raise ValueError("names no host")
    path = [segment for segment in parts.path.split("/") if segment]
    service, db = "", 0
    if kind == "sentinel":
        if not path or len(path) > 2:
            raise ValueError("must name the Sentinel service: …/<service>[/db]")
        service = unquote(path[0])
        db = _number(path[1], "db") if len(path) == 2 else 0
    elif path:
        raise ValueError("a Redis Cluster has only database 0: no path after the hosts")
    return Topology(
        kind,
        url,
        tls,
        hosts,
        service,
        db,
        unquote(username) or None,
        unquote(password) or None,
    )


def connect(url: str, *, max_connections: int, timeout: float, name: str | None = None) -> Client:
    """A client for `url`, with timeouts (redis-py's defaults are none) and bounded pools.

    `name` names every connection (`CLIENT SETNAME`). The client owns its pools: closing it
    closes them. A Cluster client holds up to `max_connections` per node.
    """
    topology = parse(url)
    if topology.kind == "standalone":
        pool = BlockingPool.from_url(
            url,
            max_connections=max_connections,
            timeout=timeout,
            client_name=name,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            health_check_interval=HEALTH_CHECK_SECONDS,
            decode_responses=True,
        )
        return Redis.from_pool(pool)
    if topology.kind == "sentinel":
        sentinel = Sentinel(  # type: ignore[no-untyped-call]  # redis-py lacks a hint
            list(topology.hosts),
            sentinel_kwargs={"socket_timeout": timeout, "socket_connect_timeout": timeout},
        )
        master: Redis = sentinel.master_for(
            topology.service,
            connection_pool_class=BlockingSentinelPool,
            max_connections=max_connections,
            timeout=timeout,
            db=topology.db,
            ssl=topology.tls,
            username=topology.username,
            password=topology.password,
            client_name=name,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            health_check_interval=HEALTH_CHECK_SECONDS,
            decode_responses=True,
        )
        return master
    return RedisCluster(
        startup_nodes=[ClusterNode(host, port) for host, port in topology.hosts],
        max_connections=max_connections,
        ssl=topology.tls,
        username=topology.username,
        password=topology.password,
        client_name=name,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        health_check_interval=HEALTH_CHECK_SECONDS,
        decode_responses=True,
    )


def is_cluster(client: Client) -> bool:
    return isinstance(client, RedisCluster)


def is_sentinel(client: Client) -> bool:
    """Whether `client` follows the master Sentinel names."""
    return isinstance(client, Redis) and isinstance(client.connection_pool, SentinelConnectionPool)


MEMORY = "rr:m"


def memory_marker(key: str, *, cluster: bool) -> str:
    """The marker saying since when Redis remembers the state of link `key` (`{key}` its
    hash tag): one for the whole server, or in a Cluster one per slot, so that the claim
    script reads it in the link's own slot and a slot that moves takes its marker along."""
    if not cluster:
        return MEMORY
    return memory_marker_of_slot(key_slot(f"{{{key}}}".encode()))


def memory_marker_of_slot(slot: int) -> str:
    return f"{MEMORY}:{{{_slot_tags()[slot]}}}"


def memory_markers(*, cluster: bool) -> list[str]:
    """Every marker: one, or one per Cluster slot."""
    if not cluster:
        return [MEMORY]
    return [memory_marker_of_slot(slot) for slot in range(REDIS_CLUSTER_HASH_SLOTS)]


def markers_by_node(client: RedisCluster) -> dict[ClusterNode, list[str]]:
    """Every slot's marker, by the primary node that holds the slot now."""
    by_node: dict[ClusterNode, list[str]] = {}
    for slot in range(REDIS_CLUSTER_HASH_SLOTS):
        node = client.nodes_manager.get_node_from_slot(slot)
        by_node.setdefault(node, []).append(memory_marker_of_slot(slot))
    return by_node


@functools.cache
def _slot_tags() -> tuple[str, ...]:
    """For each Cluster slot, a short hash tag that lands in it (found by counting in hex:
    about 315 000 tries, 0.15 s of CPU, once per process and only for a Cluster)."""
    tags: list[str | None] = [None] * REDIS_CLUSTER_HASH_SLOTS
    missing, number = REDIS_CLUSTER_HASH_SLOTS, 0
    while missing:
        tag = format(number, "x")
        slot = key_slot(tag.encode())
        if tags[slot] is None:
            tags[slot] = tag
            missing -= 1
        number += 1
    return tuple(tag for tag in tags if tag is not None)


def ping(url: str, *, timeout: float) -> None:
    """Ask the Redis `url` names whether it answers, without an event loop (start-up checks
    run before one); raises `redis.RedisError` or `OSError` when it does not."""
    topology = parse(url)
    options: dict[str, Any] = {"socket_timeout": timeout, "socket_connect_timeout": timeout}
    client: sync_redis.Redis | sync_cluster.RedisCluster
    if topology.kind == "standalone":
        client = sync_redis.Redis.from_url(url, **options)
    elif topology.kind == "sentinel":
        sentinel = sync_sentinel.Sentinel(  # type: ignore[no-untyped-call]  # no hints there
            list(topology.hosts), sentinel_kwargs=options
        )
        client = sentinel.master_for(  # type: ignore[no-untyped-call]
            topology.service,
            db=topology.db,
            ssl=topology.tls,
            username=topology.username,
            password=topology.password,
            **options,
        )
    else:
        nodes = [sync_cluster.ClusterNode(host, port) for host, port in topology.hosts]  # type: ignore[no-untyped-call]
        client = sync_cluster.RedisCluster(
            startup_nodes=nodes,
            ssl=topology.tls,
            username=topology.username,
            password=topology.password,
            **options,
        )
    try:
        client.ping()
    finally:
        client.close()


def address(url: str) -> str:
    """Where a Redis URL points, without its user name or password."""
    topology = parse(url)
    if topology.kind == "standalone":
        parts = urlsplit(url)
        return parts.path if parts.scheme == "unix" else f"{parts.hostname}:{parts.port or 6379}"
    hosts = ",".join(f"{host}:{port}" for host, port in topology.hosts)
    return f"{hosts}/{topology.service}" if topology.service else hosts


def _host(item: str, default_port: int) -> tuple[str, int]:
    host, sep, port = item.rpartition(":")
    if not sep or (":" in host and not host.endswith("]")):  # no port, or a bare IPv6 address
        host, port = item, ""
    host = host.strip("[]")
    if not host:
        raise ValueError("a host is empty")
    return host, _number(port, "port") if port else default_port


def _number(text: str, what: str) -> int:
    if not text.isdigit():
        raise ValueError(f"the {what} must be a number")
    return int(text)
