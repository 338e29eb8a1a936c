"""Running the sandbox: `serve` in the foreground, `start_in_thread` beside the service.

The sandbox keeps its state in memory, so it always runs as exactly one process.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import uvicorn

from resolver_sandbox import threaded
from resolver_sandbox.app import create_sandbox_app
from resolver_sandbox.auth import DEFAULT_API_KEY, DEFAULT_API_SECRET
from resolver_sandbox.lifecycle import Stoppable
from resolver_sandbox.state import SandboxState
from resolver_sandbox.threaded import SERVER_KEEPALIVE_SECONDS, Server, ThreadedServer

if TYPE_CHECKING:
    from collections.abc import Callable

# After this long uvicorn cancels requests still running at shutdown.
GRACEFUL_SHUTDOWN_S = 5


class SandboxHandle(Stoppable):
    """A sandbox running in a daemon thread: its `url`, `port`, `state`, and `stop()`."""

    def __init__(self, server: ThreadedServer, state: SandboxState) -> None:
        self._server = server
        self.url = server.url
        self.port = server.port
        self.state = state

    def stop(self) -> None:
        """Release hung calls, stop serving and wait for the thread; calling again does nothing."""
        self.state.faults.release_hung()
        self._server.stop()


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
        timeout_keep_alive=SERVER_KEEPALIVE_SECONDS,
    )
    # Hung calls are let go first: uvicorn waits for open requests before it stops.
    Server(config, before_shutdown=state.faults.release_hung).run()


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
    on_reset: Callable[[], None] | None = None,
) -> SandboxHandle:
    """Serve a sandbox from a daemon thread; returns once it accepts connections.

    Port 0 picks a free port (see `handle.port`). Logging is left as the host process set it
    up unless `log_level` is given: uvicorn's loggers are process-wide, shared with the service.
    `on_reset` runs after every `POST /_sandbox/reset` (`resolver serve`'s demo forgets then).
    """
    if state is None:
        state = SandboxState()
        state.seed_demo()
    app = create_sandbox_app(
        state,
        api_key=api_key,
        api_secret=api_secret,
        token=token,
        latency_ms=latency_ms,
        on_reset=on_reset,
    )
    server = threaded.start(
        app,
        host,
        port,
        name="passkit-sandbox",
        lifespan="off",
        grace=GRACEFUL_SHUTDOWN_S,
        log_level=log_level,
        before_shutdown=state.faults.release_hung,
    )
    return SandboxHandle(server, state)
