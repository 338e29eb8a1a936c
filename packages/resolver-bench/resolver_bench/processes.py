"""Resolver commands as child processes: on free ports, waited for, always stopped.

The load benchmark and the end-to-end tests both run `python -m resolver sandbox` and
`python -m resolver serve` for real. Each child gets exactly the `RESOLVER_*` settings it is
given (none inherited, no `.env` read from the caller's directory), writes its stderr to a file
rather than a pipe (a pipe nobody reads fills up and stalls the child), and is asked to die with
its parent, so an interrupted run never leaves a server listening.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from typing import IO, TYPE_CHECKING

import httpx
import redis
from redis.cluster import ClusterNode, RedisCluster
from redis.sentinel import Sentinel
from resolver_sandbox.embedded import die_with_parent
from resolver_sandbox.lifecycle import Stoppable

from resolver.settings import ENV_PREFIX
from resolver.storage import topologies
from resolver.storage.claims import CHANNEL

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from pathlib import Path

HOST = "127.0.0.1"
START_TIMEOUT = 20.0
STOP_TIMEOUT = 15.0
POLL_INTERVAL = 0.05
# How much of a child's stderr an error message quotes.
TAIL_CHARS = 4_000


def free_port(host: str = HOST) -> int:
    """A TCP port nothing listens on right now (the kernel's pick for port 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def child_environment(settings: Mapping[str, str]) -> dict[str, str]:
    """This process's environment minus every `RESOLVER_*` variable, plus `settings`."""
    inherited = {
        name: value for name, value in os.environ.items() if not name.startswith(ENV_PREFIX)
    }
    return {**inherited, **settings}


class Child(Stoppable):
    """One `python -m resolver …` (or another `module`'s) process serving HTTP at `url`, its
    stderr kept in a file."""

    start_on_enter = True

    def __init__(
        self,
        name: str,
        args: Sequence[str],
        *,
        port: int,
        settings: Mapping[str, str],
        workdir: Path,
        ready_path: str,
        module: str = "resolver",
    ) -> None:
        self.name = name
        self.args = [sys.executable, "-m", module, *args]
        self.port = port
        self.url = f"http://{HOST}:{port}"
        self.settings = dict(settings)
        self.workdir = workdir
        self.ready_path = ready_path
        self.log_path = workdir / f"{name}-{port}.stderr"
        self._log: IO[bytes] | None = None
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self._process is not None, "not started"
        return self._process.pid

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self) -> None:
        """Start the child; return once `ready_path` answers 200, else stop it and raise."""
        self._log = self.log_path.open("ab")
        self._process = subprocess.Popen(  # noqa: S603  # our own interpreter and argv, no shell
            self.args,
            cwd=self.workdir,  # so no stray .env configures the child
            env=child_environment(self.settings),
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=self._log,
            preexec_fn=die_with_parent if sys.platform == "linux" else None,  # noqa: PLW1509
        )
        try:
            self.wait_ready()
        except BaseException:
            self.stop()  # `with` never calls __exit__ when __enter__ raises
            raise

    def wait_ready(self, timeout: float = START_TIMEOUT) -> None:
        """Poll `ready_path` until it answers 200; raise, quoting stderr, if it never does."""
        deadline = time.monotonic() + timeout
        with httpx.Client(base_url=self.url, timeout=1.0) as client:
            while time.monotonic() < deadline:
                if not self.running:
                    raise RuntimeError(f"{self.name} exited at start:\n{self.tail()}")
                try:
                    if client.get(self.ready_path).status_code == 200:
                        return
                except httpx.TransportError:
                    pass  # not listening yet
                time.sleep(POLL_INTERVAL)
        raise RuntimeError(f"{self.name} was not ready within {timeout} s:\n{self.tail()}")

    def signal(self, signum: int) -> None:
        """Send `signum` to the child (only to it, not to processes it started)."""
        assert self._process is not None, "not started"
        self._process.send_signal(signum)

    def wait(self, timeout: float = STOP_TIMEOUT) -> int:
        """The child's exit status once it ends; raises `subprocess.TimeoutExpired`."""
        assert self._process is not None, "not started"
        return self._process.wait(timeout)

    def stop(self, timeout: float = STOP_TIMEOUT) -> int | None:
        """Terminate (then kill, past `timeout`) and return the exit status; safe to repeat."""
        process, self._process = self._process, None
        status = None
        if process is not None:
            if process.poll() is None:
                process.terminate()
            try:
                status = process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                status = process.wait()
        if self._log is not None:
            self._log.close()
            self._log = None
        return status

    def output(self) -> str:
        """Everything the child wrote to stderr (and stdout) so far."""
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def tail(self, chars: int = TAIL_CHARS) -> str:
        return self.output()[-chars:]


def sandbox(workdir: Path, *, latency_ms: float = 0.0, port: int | None = None) -> Child:
    """`resolver sandbox` on a free port (not started)."""
    port = port or free_port()
    args = ["sandbox", "--host", HOST, "--port", str(port), "--latency-ms", str(latency_ms)]
    return Child(
        "sandbox", args, port=port, settings={}, workdir=workdir, ready_path="/_sandbox/faults"
    )


def serve(
    workdir: Path,
    settings: Mapping[str, str],
    *,
    workers: int = 1,
    port: int | None = None,
) -> Child:
    """`resolver serve --workers N` on a free port with exactly `settings` (not started)."""
    port = port or free_port()
    args = ["serve", "--host", HOST, "--port", str(port), "--workers", str(workers)]
    return Child("serve", args, port=port, settings=settings, workdir=workdir, ready_path="/readyz")


def container(workdir: Path, settings: Mapping[str, str], command: Sequence[str]) -> Child:
    """The container image's command (`uvicorn …`), on a free port of this host (not started)."""
    port = free_port()
    module, *args = command
    args[args.index("--host") + 1] = HOST
    args[args.index("--port") + 1] = str(port)
    return Child(
        module, args, port=port, settings=settings, workdir=workdir, ready_path="/readyz",
        module=module,
    )  # fmt: skip


def wait_for_workers(redis_url: str, workers: int, timeout: float = START_TIMEOUT) -> None:
    """Wait until `workers` serve processes have finished starting, all of them.

    `/readyz` answers as soon as one worker is up, and one worker would take every
    connection meanwhile. The last thing a worker's start-up does is subscribe to the channel
    settled redemptions are announced on, so the subscriber count says how many are up (and
    ready to drain: a worker still starting when told to stop holds its copy of the listening
    socket until it has started).
    """
    deadline = time.monotonic() + timeout
    while subscribers(redis_url) < workers:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{workers} workers did not all start within {timeout} s")
        time.sleep(POLL_INTERVAL)


def subscribers(redis_url: str) -> int:
    """How many processes listen for settled redemptions (sharded, in a Redis Cluster)."""
    topology = topologies.parse(redis_url)
    client: redis.Redis | RedisCluster
    if topology.kind == "cluster":
        nodes = [ClusterNode(host, port) for host, port in topology.hosts]  # type: ignore[no-untyped-call]
        client = RedisCluster(startup_nodes=nodes, password=topology.password, socket_timeout=2.0)
    elif topology.kind == "sentinel":
        # redis-py's synchronous Sentinel lacks type hints
        sentinel = Sentinel(list(topology.hosts), socket_timeout=2.0)  # type: ignore[no-untyped-call]
        client = sentinel.master_for(topology.service, password=topology.password)  # type: ignore[no-untyped-call]
    else:
        client = redis.Redis.from_url(redis_url, socket_timeout=2.0)
    try:
        if isinstance(client, RedisCluster):
            counts = client.pubsub_shardnumsub(CHANNEL)
        else:
            counts = client.pubsub_numsub(CHANNEL)
        return int(counts[0][1]) if counts else 0
    finally:
        client.close()
