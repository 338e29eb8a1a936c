"""A redis-server of one test's own, on a unix socket, that the test can kill and restart."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import time
from typing import TYPE_CHECKING

from resolver_sandbox.embedded import find_redis_server
from resolver_sandbox.lifecycle import Stoppable

if TYPE_CHECKING:
    from pathlib import Path

START_TIMEOUT = 10.0


class RedisServer(Stoppable):
    """`with RedisServer(folder) as server:` a fresh Redis at `server.url`; `restart()` brings
    it back on the same socket, empty (or with its data, when it keeps an append-only file)."""

    def __init__(self, folder: Path, *, persistent: bool = False) -> None:
        self.folder = folder
        self.persistent = persistent
        self.socket = folder / "redis.sock"
        self.url = f"unix://{self.socket}"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        keep = ["--appendonly", "yes", "--appendfsync", "always"] if self.persistent else []
        command = [
            find_redis_server(), "--port", "0", "--unixsocket", str(self.socket),
            "--unixsocketperm", "700", "--save", "", "--appendonly", "no", *keep,
            "--maxmemory-policy", "noeviction", "--dir", str(self.folder),
            "--loglevel", "warning", "--logfile", str(self.folder / "redis.log"),
        ]  # fmt: skip
        self._process = subprocess.Popen(  # noqa: S603  # a fixed argv, no shell
            command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.socket(socket.AF_UNIX) as probe:
                probe.connect(str(self.socket))
                probe.sendall(b"PING\r\n")
                if probe.recv(16).startswith(b"+PONG"):
                    return
            time.sleep(0.01)
        raise RuntimeError("redis-server did not start")

    start_on_enter = True

    def stop(self) -> None:
        self.kill()

    def kill(self) -> None:
        """Gone at once, as a crash or an out-of-memory kill would take it."""
        if self._process is not None:
            self._process.kill()
            self._process.wait()
            self._process = None
        self.socket.unlink(missing_ok=True)

    def restart(self) -> None:
        self.kill()
        self.start()
