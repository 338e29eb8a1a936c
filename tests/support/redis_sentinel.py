"""A master, a replica and two Sentinels on loopback, for the tests that run on every topology
and for a failover in the middle of a run."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from redis import Redis
from resolver_sandbox.lifecycle import Stoppable

from tests.support.redis_nodes import Node, free_port

if TYPE_CHECKING:
    from pathlib import Path

SERVICE = "resolver"
SENTINELS = 2
READY_TIMEOUT = 20.0
# A replica (or a demoted master) syncs at once rather than after the default 5 s.
NO_DELAY = ("--repl-diskless-sync-delay", "0")


class RedisSentinelNodes(Stoppable):
    """`with RedisSentinelNodes(binary, folder) as nodes:` Sentinel's master at `nodes.url`
    (`redis+sentinel://…/resolver`); `failover()` promotes the replica."""

    start_on_enter = True

    def __init__(self, binary: str, folder: Path) -> None:
        self.binary = binary
        self.folder = folder
        self.data: list[Node] = []
        self.sentinels: list[Node] = []
        self.url = ""

    def start(self) -> None:
        try:
            self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> None:
        master = Node(self.binary, self.folder / "master", free_port(), *NO_DELAY)
        master.start()
        replica = Node(self.binary, self.folder / "replica", free_port(), *NO_DELAY,
                       "--replicaof", "127.0.0.1", str(master.port))  # fmt: skip
        replica.start()
        self.data = [master, replica]
        self._wait(lambda: self._in_sync(replica.port))
        for number in range(SENTINELS):
            folder = self.folder / f"sentinel-{number}"
            folder.mkdir(parents=True, exist_ok=True)
            config = folder / "sentinel.conf"
            config.write_text(
                f"sentinel monitor {SERVICE} 127.0.0.1 {master.port} 1\n"
                f"sentinel down-after-milliseconds {SERVICE} 1000\n"
                f"sentinel failover-timeout {SERVICE} 5000\n"
            )
            sentinel = Node(self.binary, folder, free_port(), str(config), "--sentinel")
            sentinel.start()
            self.sentinels.append(sentinel)
        for sentinel in self.sentinels:
            self._wait(lambda port=sentinel.port: self._sentinel_sees_replica(port))
        hosts = ",".join(f"127.0.0.1:{sentinel.port}" for sentinel in self.sentinels)
        self.url = f"redis+sentinel://{hosts}/{SERVICE}"

    def stop(self) -> None:
        for node in [*self.sentinels, *self.data]:
            node.stop()
        self.sentinels, self.data = [], []

    def master_port(self) -> int:
        with Redis(port=self.sentinels[0].port, decode_responses=True) as sentinel:
            return int(sentinel.sentinel_get_master_addr_by_name(SERVICE)[1])

    def failover(self) -> None:
        """Promote the replica now (`SENTINEL FAILOVER`); returns once Sentinel names it."""
        before = self.master_port()
        with Redis(port=self.sentinels[0].port) as sentinel:
            sentinel.execute_command("SENTINEL", "FAILOVER", SERVICE)
        self._wait(lambda: self.master_port() != before)

    @staticmethod
    def _in_sync(port: int) -> bool:
        with Redis(port=port, decode_responses=True) as client:
            return bool(client.info("replication").get("master_link_status") == "up")

    @staticmethod
    def _sentinel_sees_replica(port: int) -> bool:
        with Redis(port=port, decode_responses=True) as sentinel:
            return bool(sentinel.sentinel_slaves(SERVICE))

    @staticmethod
    def _wait(ready: object) -> None:
        assert callable(ready)
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            if ready():
                return
            time.sleep(0.05)
        raise RuntimeError("the Sentinel setup did not become ready")
