"""Draining: from the stop signal to the exit, say so at once and take no new connection.

A deploy or a scale-down sends SIGTERM. From that moment the process must no longer be chosen
for new work (`/readyz` answers 503 "draining") and must stop listening, so that the kernel
refuses a new connection outright instead of completing it for a server that will never read
it and then resetting it after the client has sent its request. Requests already accepted are
still answered: the server's graceful period outlasts the longest claim lease.

uvicorn stops listening only at its next tick, up to 0.1 s after the signal, and its signal
handler cannot be chosen from its command line. The app's lifespan runs after uvicorn has
installed that handler, so the app chains its own in front of it: `resolver serve` and the
container's plain `uvicorn … --factory` drain the same way.
"""

from __future__ import annotations

import asyncio
import signal
import threading
from contextlib import contextmanager
from typing import TYPE_CHECKING

import uvicorn

if TYPE_CHECKING:
    from collections.abc import Iterator
    from types import FrameType

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Drain:
    """Whether this process has been told to stop; `/readyz` reads it."""

    def __init__(self) -> None:
        self._started = False

    @property
    def started(self) -> bool:
        return self._started

    def begin(self) -> None:
        self._started = True


@contextmanager
def on_stop_signals(drain: Drain) -> Iterator[None]:
    """While inside: SIGINT and SIGTERM begin `drain`, then reach the handler found installed.

    Only a handler that is a function (a server's) is chained; the default action or an ignored
    signal is left alone, and so are processes where the app does not run in the main thread
    (the only thread signals reach). Under uvicorn, the signal also closes the server's
    listening sockets at once. The handlers found are put back on the way out.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    loop = asyncio.get_running_loop()
    found = {sig: signal.getsignal(sig) for sig in STOP_SIGNALS}

    def handle(sig: int, frame: FrameType | None) -> None:
        drain.begin()
        chained = found[signal.Signals(sig)]
        server = getattr(chained, "__self__", None)
        if isinstance(server, uvicorn.Server):
            # A signal handler may interrupt the loop anywhere: close from a callback instead.
            loop.call_soon_threadsafe(stop_listening, server)
        if callable(chained):
            chained(sig, frame)

    chained = [sig for sig, handler in found.items() if callable(handler)]
    for sig in chained:
        signal.signal(sig, handle)
    try:
        yield
    finally:
        for sig in chained:
            if signal.getsignal(sig) is handle:
                signal.signal(sig, found[sig])


def stop_listening(server: uvicorn.Server) -> None:
    """Close `server`'s listening sockets now; uvicorn closes them again, harmlessly, later.

    A worker of several shares its listening socket with the others and with their parent: the
    kernel refuses new connections only once every process has closed its copy.
    """
    # Set by uvicorn once the app has started; a signal during start-up finds none yet.
    for listener in getattr(server, "servers", ()):
        listener.close()
