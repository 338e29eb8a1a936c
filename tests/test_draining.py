"""Draining: a stop signal begins the drain and closes uvicorn's listener, then reaches uvicorn."""

from __future__ import annotations

import asyncio
import signal
from typing import TYPE_CHECKING

import pytest
import uvicorn

from resolver.draining import STOP_SIGNALS, Drain, on_stop_signals

if TYPE_CHECKING:
    from collections.abc import Iterator
    from types import FrameType


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


async def test_under_uvicorn_sigterm_stops_the_listener_before_uvicorns_next_tick(
    restored_handlers: None,
) -> None:
    """uvicorn's listening socket is closed by the signal itself: a new connection is refused."""
    listener = await asyncio.get_running_loop().create_server(asyncio.Protocol, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    server = uvicorn.Server(uvicorn.Config("resolver.app:app_from_environment", factory=True))
    server.servers = [listener]
    signal.signal(signal.SIGTERM, server.handle_exit)  # as uvicorn's capture_signals does
    with on_stop_signals(Drain()):
        signal.raise_signal(signal.SIGTERM)
        await asyncio.sleep(0)  # one turn of the loop: the close is a callback, not a timer
    assert server.should_exit
    with pytest.raises(ConnectionRefusedError):
        await asyncio.open_connection("127.0.0.1", port)
