"""The Redis URL names the topology: its grammar, and what a Cluster needs of the key names."""

from __future__ import annotations

import pytest
from redis.crc import key_slot

from resolver.storage.topologies import memory_marker, memory_markers, parse


def test_one_server_urls_are_standalone() -> None:
    """redis://, rediss:// and unix:// name one server, whatever follows."""
    for url in ("redis://localhost:6379/0", "rediss://h:6380", "unix:///run/redis.sock?db=2"):
        assert parse(url).kind == "standalone"
    assert parse("rediss://h:6380").tls


def test_a_sentinel_url_names_its_sentinels_service_and_database() -> None:
    """Hosts with default ports, the service, the database and credentials for the data nodes."""
    topology = parse("rediss+sentinel://app:s%40cret@s1:26380,s2,[::1]:26381/shop/2")
    assert topology.kind == "sentinel"
    assert topology.tls
    assert topology.hosts == (("s1", 26380), ("s2", 26379), ("::1", 26381))
    assert (topology.service, topology.db) == ("shop", 2)
    assert (topology.username, topology.password) == ("app", "s@cret")
    assert "s@cret" not in repr(topology)


def test_a_cluster_url_names_its_startup_nodes() -> None:
    """Any of the nodes will do to start with; a Cluster has database 0 only."""
    topology = parse("redis+cluster://:pw@n1:7000,n2:7001")
    assert (topology.kind, topology.hosts) == ("cluster", (("n1", 7000), ("n2", 7001)))
    assert (topology.username, topology.password) == (None, "pw")


@pytest.mark.parametrize(
    "url",
    [
        "http://localhost",
        "redis+sentinel://s1:26379",  # no service
        "redis+sentinel://s1/shop/zero",
        "redis+cluster:///",
        "redis+cluster://n1:7000/1",
        "redis+cluster://n1:port",
    ],
)
def test_a_url_that_names_no_topology_is_refused(url: str) -> None:
    """A wrong URL is a configuration error at start-up, never a surprise at the first tap."""
    with pytest.raises(ValueError, match=r"\w"):
        parse(url)


def test_each_cluster_slot_has_a_memory_marker_of_its_own() -> None:
    """The marker a claim reads lives in the link's slot, and there is one per slot."""
    markers = memory_markers(cluster=True)
    assert [key_slot(marker.encode()) for marker in markers] == list(range(16_384))
    for key in ("abc", "5ogbvwqxreb3fyt2"):
        assert key_slot(memory_marker(key, cluster=True).encode()) == key_slot(
            f"rr:{{{key}}}".encode()
        )
    assert memory_markers(cluster=False) == [memory_marker("abc", cluster=False)] == ["rr:m"]
