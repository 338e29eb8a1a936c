"""Running the sandbox: `serve` in the foreground, `start_in_thread` beside the service.

The sandbox keeps its state in memory, so it always runs as exactly one process.
"""

from __future__ import annotations

import socket
import threading
from typing import TYPE_CHECKING

import uvicorn

from resolver.sandbox.app import create_sandbox_app
from resolver.sandbox.auth import DEFAULT_API_KEY, DEFAULT_API_SECRET
from resolver.sandbox.state import SandboxState

if TYPE_CHECKING:
    from types import TracebackType

STARTUP_TIMEOUT_S = 10.0
# After this long uvicorn cancels requests still running at shutdown.
GRACEFUL_SHUTDOWN_S = 5


class _SandboxServer(uvicorn.Server):
    """uvicorn, letting hung calls go before waiting for connections to close on shutdown."""

    def __init__(self, config: uvicorn.Config, state: SandboxState) -> None:
        super().__init__(config)
        self.sandbox = state
        self.startup_done = threading.Event()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        """Start listening, then tell `start_in_thread` (which also learns of failures)."""
        try:
            await super().startup(sockets)
        finally:
            self.startup_done.set()

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        """Release hung calls first: uvicorn waits for open requests before lifespan shutdown."""
        self.sandbox.faults.release_hung()
        await super().shutdown(sockets)


class SandboxHandle:
    """A sandbox running in a daemon thread: its `url`, `port`, `state`, and `stop()`."""

    def __init__(self, server: _SandboxServer, thread: threading.Thread, host: str, port: int):
        self._server = server
        self._thread = thread
        self.port = port
        self.url = f"http://{f'[{host}]' if ':' in host else host}:{port}"
        self.state = server.sandbox

    def stop(self, timeout: float = GRACEFUL_SHUTDOWN_S + 5.0) -> None:
        """Stop serving and wait for the thread to end; calling it again does nothing."""
        self._server.sandbox.faults.release_hung()
        self._server.should_exit = True
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise RuntimeError(f"sandbox at {self.url} did not stop within {timeout} s")

    def __enter__(self) -> SandboxHandle:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def serve(
    host: str,
    port: int,
    *,
    latency_ms: float = 0.0,
    api_key: str = DEFAULT_API_KEY,
    api_secret: str = DEFAULT_API_SECRET,
    token: str | None = None,
    log_level: str = "warning",
) -> None:
    """Serve a demo-seeded sandbox on `host:port` until interrupted."""
    state = SandboxState()
    state.seed_demo()
    app = create_sandbox_app(
        state, api_key=api_key, api_secret=api_secret, token=token, latency_ms=latency_ms
    )
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        lifespan="off",
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
    )
    _SandboxServer(config, state).run()


def start_in_thread(
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    latency_ms: float = 0.0,
    api_key: str = DEFAULT_API_KEY,
    api_secret: str = DEFAULT_API_SECRET,
    token: str | None = None,
    log_level: str | None = None,
    state: SandboxState | None = None,
) -> SandboxHandle:
    """Serve a sandbox from a daemon thread; returns once it accepts connections.

    Port 0 picks a free port (see `handle.port`). Logging is left as the host process set it
    up unless `log_level` is given: uvicorn's loggers are process-wide, shared with the service.
    """
    if state is None:
        state = SandboxState()
        state.seed_demo()
    app = create_sandbox_app(
        state, api_key=api_key, api_secret=api_secret, token=token, latency_ms=latency_ms
    )
    sock = _bind(host, port)
    config = uvicorn.Config(
        app,
        log_config=None,
        log_level=log_level,
        lifespan="off",
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
    )
    server = _SandboxServer(config, state)
    bound_port = int(sock.getsockname()[1])
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name=f"passkit-sandbox-{bound_port}"
    )
    thread.daemon = True
    thread.start()
    if not server.startup_done.wait(STARTUP_TIMEOUT_S) or not server.started:
        server.should_exit = True
        sock.close()
        raise RuntimeError(f"sandbox did not start on {host}:{bound_port}")
    return SandboxHandle(server, thread, host, bound_port)


def _bind(host: str, port: int) -> socket.socket:
    """A socket bound to `host:port`, so port 0 is resolved before the thread starts."""
    family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except OSError:
        sock.close()
        raise
    return sock
