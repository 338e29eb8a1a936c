"""A 3-master Redis Cluster on loopback, for the tests that run on every topology."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from redis import Redis
from redis.crc import REDIS_CLUSTER_HASH_SLOTS
from resolver_sandbox.lifecycle import Stoppable

from tests.support.redis_nodes import Node, free_port

if TYPE_CHECKING:
    from pathlib import Path

MASTERS = 3
READY_TIMEOUT = 20.0


class RedisClusterNodes(Stoppable):
    """`with RedisClusterNodes(binary, folder) as cluster:` a Cluster at `cluster.url`
    (`redis+cluster://…`), its slots split evenly over `MASTERS` nodes with no replicas."""

    start_on_enter = True

    def __init__(self, binary: str, folder: Path) -> None:
        self.binary = binary
        self.folder = folder
        self.nodes: list[Node] = []
        self.url = ""

    def start(self) -> None:
        try:
            self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> None:
        options = ("--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
                   "--cluster-node-timeout", "2000")  # fmt: skip
        for number in range(MASTERS):
            node = Node(self.binary, self.folder / f"node-{number}", free_port(with_bus=True),
                        *options)  # fmt: skip
            node.start()
            self.nodes.append(node)
        share = REDIS_CLUSTER_HASH_SLOTS // MASTERS
        clients = [Redis(port=node.port) for node in self.nodes]
        try:
            for number, client in enumerate(clients):
                last = (
                    REDIS_CLUSTER_HASH_SLOTS - 1
                    if number == MASTERS - 1
                    else (number + 1) * share - 1
                )
                client.cluster("ADDSLOTSRANGE", number * share, last)
            for node in self.nodes[1:]:
                clients[0].cluster("MEET", "127.0.0.1", node.port)
            self._wait_until_ok(clients)
        finally:
            for client in clients:
                client.close()
        hosts = ",".join(f"127.0.0.1:{node.port}" for node in self.nodes)
        self.url = f"redis+cluster://{hosts}"

    def restart(self, number: int, *, down: float = 1.0) -> None:
        """Kill node `number` and start it again after `down` seconds: it keeps its slots
        (its nodes.conf) and loses its data, as a node without persistence does."""
        node = self.nodes[number]
        node.stop()
        time.sleep(down)
        node.start()
        clients = [Redis(port=node.port) for node in self.nodes]
        try:
            self._wait_until_ok(clients)
        finally:
            for client in clients:
                client.close()

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()
        self.nodes = []

    @staticmethod
    def _wait_until_ok(clients: list[Redis]) -> None:
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            if all(client.cluster("info").get("cluster_state") == "ok" for client in clients):
                return
            time.sleep(0.05)
        raise RuntimeError("the Redis Cluster did not reach cluster_state:ok")
