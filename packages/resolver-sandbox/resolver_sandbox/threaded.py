"""Serve an ASGI app from a daemon thread on a free port: the sandbox beside `resolver serve`,
and the real servers that browser and fuzz tests talk to.

The socket is bound before the thread starts, so port 0 is resolved up front and the caller
learns the URL at once; `start` returns only when the server accepts connections.
"""

from __future__ import annotations

import socket
import threading
from typing import TYPE_CHECKING, Any, Literal

import uvicorn

from resolver_sandbox.lifecycle import Stoppable

if TYPE_CHECKING:
    from collections.abc import Callable

STARTUP_TIMEOUT_S = 10.0
# Idle client connections are kept longer than any client pool here keeps them (uvicorn's
# default of 5 s would close connections our upstream pool is about to reuse).
SERVER_KEEPALIVE_SECONDS = 75


class Server(uvicorn.Server):
    """uvicorn that reports when start-up is over and runs a hook before shutting down."""

    def __init__(self, config: uvicorn.Config, before_shutdown: Callable[[], None]) -> None:
        super().__init__(config)
        self.startup_done = threading.Event()
        self._before_shutdown = before_shutdown

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        try:
            await super().startup(sockets)
        finally:
            self.startup_done.set()

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        self._before_shutdown()
        await super().shutdown(sockets)


class ThreadedServer(Stoppable):
    """A running server: its `url`, `port`, and `stop()` (also a context manager)."""

    def __init__(
        self, server: Server, thread: threading.Thread, host: str, port: int, grace: float
    ) -> None:
        self._server = server
        self._thread = thread
        self._grace = grace
        self.port = port
        self.url = f"http://{f'[{host}]' if ':' in host else host}:{port}"

    def stop(self) -> None:
        """Stop serving and wait for the thread to end; calling it again does nothing."""
        self._server.should_exit = True
        self._thread.join(self._grace + 5.0)
        if self._thread.is_alive():
            raise RuntimeError(f"the server at {self.url} did not stop")


def start(
    app: Any,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    name: str = "asgi",
    lifespan: Literal["on", "off"] = "on",
    grace: float = 5.0,
    log_level: str | None = None,
    before_shutdown: Callable[[], None] = lambda: None,
) -> ThreadedServer:
    """Serve `app` from a daemon thread; returns once it accepts connections.

    Logging is left as the host process set it up unless `log_level` is given: uvicorn's
    loggers are process-wide.
    """
    sock = bind(host, port)
    config = uvicorn.Config(
        app,
        log_config=None,
        log_level=log_level,
        lifespan=lifespan,
        timeout_graceful_shutdown=int(grace),
        timeout_keep_alive=SERVER_KEEPALIVE_SECONDS,
    )
    server = Server(config, before_shutdown)
    bound_port = int(sock.getsockname()[1])
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name=f"{name}-{bound_port}", daemon=True
    )
    thread.start()
    if not server.startup_done.wait(STARTUP_TIMEOUT_S) or not server.started:
        server.should_exit = True
        sock.close()
        raise RuntimeError(f"{name} did not start on {host}:{bound_port}")
    return ThreadedServer(server, thread, host, bound_port, grace)


def bind(host: str, port: int) -> socket.socket:
    """A listening-ready socket bound to `host:port` (port 0: a free one)."""
    family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except OSError:
        sock.close()
        raise
    return sock
