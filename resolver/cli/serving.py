"""How `resolver serve` runs uvicorn: one process, or a supervisor and N workers.

The workers drain by themselves (`resolver.draining`). What is left is the supervisor's copy of
the listening socket: uvicorn's keeps it open until every worker has exited, so for the whole
graceful period the kernel goes on completing connections that no worker will ever accept, and
resets them at the end, after their clients have sent a request they cannot know the fate of.
`Supervisor` closes its copy as soon as it is told to stop, and passes SIGTERM on to the workers
at once rather than at its next half-second poll.
"""

from __future__ import annotations

import contextlib
import math
import os
import signal
from typing import TYPE_CHECKING

import uvicorn
from uvicorn.config import STARTUP_FAILURE
from uvicorn.supervisors import Multiprocess

if TYPE_CHECKING:
    import socket
    from types import FrameType

    from resolver.settings import Settings

# Not the container's factory: the parent has checked the settings and warned already.
APP = "resolver.app:serve_worker_app"
# How long `serve` keeps an idle client connection: above a load balancer's idle timeout
# (commonly 60 s), so the balancer never reuses a connection uvicorn has just closed.
SERVER_KEEPALIVE_SECONDS = 75


def server_config(settings: Settings, workers: int) -> uvicorn.Config:
    """uvicorn's configuration for `resolver serve`, the same for one worker or several."""
    return uvicorn.Config(
        APP,
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=workers,
        log_level=settings.log_level,
        log_config=None,  # resolver.logs renders uvicorn's lines as it renders the service's
        access_log=False,  # the app writes one canonical line per request instead
        # Forwarding headers are trusted per RESOLVER_FORWARDED_ALLOW_IPS, inside the app.
        proxy_headers=False,
        # A redemption in flight at SIGTERM must be able to finish: its claim's lease is the
        # longest it may take.
        timeout_graceful_shutdown=math.ceil(settings.longest_lease_seconds),
        server_header=False,
        timeout_keep_alive=SERVER_KEEPALIVE_SECONDS,
    )


def run(config: uvicorn.Config) -> int:
    """Serve until told to stop, as `uvicorn.run` would; 0, or 3 when start-up failed."""
    if config.workers > 1:
        supervisor = Supervisor(config, sockets=[config.bind_socket()])
        supervisor.run()
        failed = any(process.exitcode == STARTUP_FAILURE for process in supervisor.processes)
        return STARTUP_FAILURE if failed else 0
    server = uvicorn.Server(config)
    with contextlib.suppress(KeyboardInterrupt):  # uvicorn raises Ctrl+C again once drained
        server.run()
    return 0 if server.started else STARTUP_FAILURE


class Supervisor(Multiprocess):
    """uvicorn's supervisor of worker processes, closing its listening socket when told to stop."""

    def __init__(self, config: uvicorn.Config, sockets: list[socket.socket]) -> None:
        super().__init__(config, sockets)
        self.stopping = False
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, self._stop)

    def _stop(self, sig: int, frame: FrameType | None) -> None:
        self.stopping = True
        for sock in self.sockets:
            sock.close()
        if sig == signal.SIGTERM:
            # Ctrl+C reaches every process of the terminal's group by itself; a second SIGINT
            # would make a worker give up its drain.
            for process in self.processes:
                if process.pid is not None and process.exitcode is None:
                    os.kill(process.pid, signal.SIGTERM)
        self.signal_queue.append(sig)  # uvicorn's own handling follows at its next poll

    # Once stopping, the listening socket is closed: no worker may be started or restarted.
    # (A worker that ends now has drained; it has not crashed.)

    def keep_subprocess_alive(self) -> None:
        if not self.stopping:
            super().keep_subprocess_alive()

    def handle_hup(self) -> None:
        if not self.stopping:
            super().handle_hup()

    def handle_ttin(self) -> None:
        if not self.stopping:
            super().handle_ttin()
