"""The Redis topologies the exactly-once tests run on: one server, Sentinel and a Cluster.

Sentinel's and the Cluster's processes start once per test session, and only when a test asks
for them. A module runs on every topology by importing `redis_url_on_every_topology` (it takes
the name `redis_url`, so that every fixture built on the test Redis follows it), or on Sentinel
and the Cluster only with `redis_url_on_replicated_topologies`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

import pytest
from redis.asyncio import Redis, RedisCluster
from resolver_sandbox.redis_topologies import RedisClusterNodes, RedisSentinelNodes, redis7

from resolver.storage import topologies

if TYPE_CHECKING:
    from collections.abc import Iterator

TOPOLOGIES = ("standalone", "sentinel", "cluster")


@pytest.fixture(scope="session")
def sentinel_nodes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisSentinelNodes]:
    binary, why_not = redis7()
    if why_not:
        pytest.skip(why_not)
    with RedisSentinelNodes(binary, tmp_path_factory.mktemp("sentinel")) as nodes:
        yield nodes


@pytest.fixture(scope="session")
def cluster_nodes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisClusterNodes]:
    binary, why_not = redis7()
    if why_not:
        pytest.skip(why_not)
    with RedisClusterNodes(binary, tmp_path_factory.mktemp("cluster")) as nodes:
        yield nodes


@pytest.fixture(params=TOPOLOGIES, name="redis_url")
def redis_url_on_every_topology(request: pytest.FixtureRequest, redis_url: str) -> str:
    """The test Redis on each topology in turn (`redis_url` here is the one server's)."""
    if request.param == "standalone":
        return redis_url
    nodes = request.getfixturevalue(f"{request.param}_nodes")
    return cast("str", nodes.url)


@pytest.fixture(params=TOPOLOGIES[1:], name="redis_url")
def redis_url_on_replicated_topologies(request: pytest.FixtureRequest) -> str:
    """Sentinel's and the Cluster's test Redis in turn, for tests already run on one server."""
    nodes = request.getfixturevalue(f"{request.param}_nodes")
    return cast("str", nodes.url)


def client_for(url: str) -> Redis:
    """A test's own client to the Redis `url` names, typed as one server's: a Cluster's
    client answers the same commands (and never waits for a connection: it has plenty)."""
    return cast("Redis", topologies.connect(url, max_connections=1_000, timeout=5.0))


# Flushes one Cluster node and sets the markers of its slots in one go (keys from several slots,
# all on this node: Redis 7 allows that to a script that says so).
EMPTY_NODE = """#!lua flags=allow-cross-slot-keys
redis.call('FLUSHDB')
for i = 1, #ARGV do redis.call('SET', ARGV[i], 0) end
return #ARGV
"""


async def empty(client: Redis) -> None:
    """Flush every node, then mark Redis as remembering everything from now on."""
    if not isinstance(client, RedisCluster):
        await client.flushdb()
        await client.set(topologies.MEMORY, 0)
        return
    await client.initialize()
    for node, markers in topologies.markers_by_node(client).items():
        await client.execute_command("EVAL", EMPTY_NODE, 0, *markers, target_nodes=node)
