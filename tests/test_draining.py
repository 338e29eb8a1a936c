"""Draining: a stop signal begins the drain and closes uvicorn's listener, then reaches uvicorn."""

from __future__ import annotations

import asyncio
import signal
import socket
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from resolver.draining import STOP_SIGNALS, Drain, on_stop_signals
from tests.e2e.waiting import eventually

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator
    from types import FrameType

    from starlette.requests import Request


@pytest.fixture
def restored_handlers() -> Iterator[None]:
    """Whatever a test installs for SIGINT and SIGTERM, the test process gets its own back."""
    saved = {sig: signal.getsignal(sig) for sig in STOP_SIGNALS}
    yield
    for sig, handler in saved.items():
        signal.signal(sig, handler)


@pytest.fixture
def server_handler(restored_handlers: None) -> list[int]:
    """A handler standing in for a server's: it records the signals that reach it."""
    received: list[int] = []

    def handler(sig: int, frame: FrameType | None) -> None:
        received.append(sig)

    for sig in STOP_SIGNALS:
        signal.signal(sig, handler)
    return received


async def test_sigterm_begins_the_drain_and_then_reaches_the_servers_handler(
    server_handler: list[int],
) -> None:
    """The drain shows at once, and the server still hears of the signal."""
    drain = Drain()
    with on_stop_signals(drain):
        assert not drain.started
        signal.raise_signal(signal.SIGTERM)
        assert drain.started
    assert server_handler == [signal.SIGTERM]


async def test_the_servers_handler_is_put_back_when_the_app_stops(
    server_handler: list[int],
) -> None:
    """After the app's lifespan, a signal reaches the server's handler alone."""
    drain = Drain()
    with on_stop_signals(drain):
        pass
    signal.raise_signal(signal.SIGTERM)
    assert server_handler == [signal.SIGTERM]
    assert not drain.started


async def test_a_signal_left_to_its_default_action_is_not_chained(
    restored_handlers: None,
) -> None:
    """With no server handling SIGTERM, it keeps its default action (ending the process)."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    with on_stop_signals(Drain()):
        assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL


async def hello(request: Request) -> PlainTextResponse:
    return PlainTextResponse("answered")


@asynccontextmanager
async def draining_lifespan(_: Starlette) -> AsyncIterator[None]:
    with on_stop_signals(Drain()):
        yield


async def start_uvicorn() -> tuple[uvicorn.Server, asyncio.Task[None], int]:
    """uvicorn serving a small app that drains as the resolver does; and the port it took."""
    app = Starlette(routes=[Route("/", hello)], lifespan=draining_lifespan)
    server = uvicorn.Server(uvicorn.Config(app, port=0, log_config=None, lifespan="on"))
    serving = asyncio.create_task(server.serve())

    async def listening() -> int | None:
        return server.servers[0].sockets[0].getsockname()[1] if server.started else None

    return server, serving, await eventually(listening, within=5, what="uvicorn listening")


REQUEST = b"GET / HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n"


async def test_under_uvicorn_a_connection_queued_at_sigterm_is_answered_and_the_next_refused(
    server_handler: list[int],
) -> None:
    """The kernel's queue is served before the listener closes, and closes it at once."""
    _, serving, port = await start_uvicorn()
    # A blocking connect while the loop waits: the kernel completes it and nobody accepts it.
    queued = socket.create_connection(("127.0.0.1", port))
    signal.raise_signal(signal.SIGTERM)
    queued.sendall(REQUEST)
    reader, writer = await asyncio.open_connection(sock=queued)
    answer = await reader.read()
    writer.close()
    with pytest.raises(ConnectionRefusedError):
        await asyncio.open_connection("127.0.0.1", port)
    await serving
    assert answer.startswith(b"HTTP/1.1 200 ")
    assert answer.endswith(b"answered")
    assert server_handler == [signal.SIGTERM]  # uvicorn's own handling ran, and ended as usual


async def test_under_uvicorn_a_connection_yet_to_send_its_request_may_still_send_it(
    server_handler: list[int],
) -> None:
    """uvicorn closes connections without a request when it shuts down: it waits for them."""
    server, serving, port = await start_uvicorn()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    signal.raise_signal(signal.SIGTERM)

    async def refused() -> bool | None:
        try:
            _, probe = await asyncio.open_connection("127.0.0.1", port)
        except ConnectionRefusedError:
            return True
        probe.close()
        return None

    await eventually(refused, within=5, what="the listener closed")
    assert not server.should_exit  # uvicorn's shutdown would close this connection now
    writer.write(REQUEST)
    answer = await reader.read()
    writer.close()
    await serving
    assert answer.startswith(b"HTTP/1.1 200 ")
