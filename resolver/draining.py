"""Draining: from the stop signal to the exit, say so at once and take no new connection.

A deploy or a scale-down sends SIGTERM. From that moment the process must no longer be chosen
for new work (`/readyz` answers 503 "draining") and must stop listening, so that the kernel
refuses a new connection outright instead of completing it for a server that will never read
it and then resetting it after the client has sent its request. Requests already accepted are
still answered: the server's graceful period outlasts the longest claim lease. So are the
connections made just before the signal: those still in the kernel's queue, and those that
have not sent their request yet.

uvicorn stops listening only at its next tick, up to 0.1 s after the signal, and its signal
handler cannot be chosen from its command line. The app's lifespan runs after uvicorn has
installed that handler, so the app chains its own in front of it: `resolver serve` and the
container's plain `uvicorn … --factory` drain the same way.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import threading
from contextlib import contextmanager
from typing import TYPE_CHECKING

import uvicorn

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from types import FrameType

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
# How long a connection made just before the stop signal may take to send its request.
FIRST_REQUEST_GRACE_S = 1.0
FIRST_REQUEST_POLL_S = 0.01


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
    (the only thread signals reach). Under uvicorn the server stops listening at once
    (`stop_listening`) and begins its own shutdown after. The handlers found are put back on
    the way out.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    loop = asyncio.get_running_loop()
    found = {sig: signal.getsignal(sig) for sig in STOP_SIGNALS}
    stopping: set[asyncio.Task[None]] = set()

    def start_stopping(server: uvicorn.Server, sig: int) -> None:
        # At once, before the loop polls again: no connection is left in the kernel's queue.
        accepted = stop_listening(server)
        task = loop.create_task(
            serve_then(server, accepted, lambda: server.handle_exit(sig, None)),
            name="resolver-drain",
        )
        stopping.add(task)
        task.add_done_callback(stopping.discard)

    def handle(sig: int, frame: FrameType | None) -> None:
        drain.begin()
        chained = found[signal.Signals(sig)]
        server = getattr(chained, "__self__", None)
        if isinstance(server, uvicorn.Server):
            # A signal handler may interrupt the loop anywhere: the rest runs from the loop.
            loop.call_soon_threadsafe(start_stopping, server, sig)
        elif callable(chained):
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


def stop_listening(server: uvicorn.Server) -> list[socket.socket]:
    """Close `server`'s listening sockets now, losing no connection already made to them.

    Closing a listening socket resets every connection the kernel has completed but nobody has
    accepted yet, whose clients may have sent a request already: those are accepted first, and
    answered (`serve_then`). A worker of several shares its listening socket with the others
    and with their parent: the kernel refuses new connections once every process has closed it.
    """
    accepted = []
    # Set by uvicorn once the app has started; a signal during start-up finds none yet.
    for listener in getattr(server, "servers", ()):
        for listening in listener.sockets:
            accepted += accept_queued(listening.fileno())
        listener.close()
    return accepted


async def serve_then(
    server: uvicorn.Server, accepted: list[socket.socket], then: Callable[[], None]
) -> None:
    """Serve the connections `stop_listening` took in, then `then` (uvicorn's shutdown).

    uvicorn's shutdown closes at once every connection that has not sent a whole request yet,
    and a client that sends one a moment later finds it reset. So it waits until every
    connection has sent its first request, for at most `FIRST_REQUEST_GRACE_S`: a connection
    made just before the signal has that long to say what it wants, and is then answered.
    """
    loop = asyncio.get_running_loop()
    if accepted:
        protocol = protocol_factory(server)
        for connection in accepted:
            try:
                await loop.connect_accepted_socket(protocol, connection, ssl=server.config.ssl)
            except OSError:  # a client that has gone already
                connection.close()
    deadline = loop.time() + FIRST_REQUEST_GRACE_S
    await asyncio.sleep(0)  # one turn of the loop, in which what they sent is read
    # uvicorn signals no event when a request starts: its state is polled, for a bounded time.
    while awaiting_first_request(server) and loop.time() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(FIRST_REQUEST_POLL_S)
    then()


def awaiting_first_request(server: uvicorn.Server) -> bool:
    """Whether a connection has not sent a whole request head yet.

    uvicorn's HTTP protocols hold no request cycle until then; after a response the cycle stays.
    """
    return any(
        getattr(connection, "cycle", "unknown") is None
        for connection in server.server_state.connections
    )


def accept_queued(listening: int) -> list[socket.socket]:
    """Every connection waiting in the listening socket `listening`'s queue, accepted."""
    accepted: list[socket.socket] = []
    with socket.socket(fileno=os.dup(listening)) as queue:
        queue.setblocking(False)
        while True:
            try:
                connection, _ = queue.accept()
            except (BlockingIOError, InterruptedError):
                return accepted
            accepted.append(connection)


def protocol_factory(server: uvicorn.Server) -> Callable[[], asyncio.Protocol]:
    """What uvicorn makes for each connection it accepts (as `uvicorn.Server.startup` does)."""
    config = server.config
    loop = asyncio.get_running_loop()

    def make() -> asyncio.Protocol:
        # uvicorn's protocol classes take these; its Config types the class as any Protocol.
        return config.http_protocol_class(  # type: ignore[call-arg]
            config=config,
            server_state=server.server_state,
            app_state=server.lifespan.state,
            _loop=loop,
        )

    return make
