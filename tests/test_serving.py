"""How `resolver serve` runs uvicorn: its configuration and the workers' supervisor."""

from __future__ import annotations

import signal
import socket
from typing import TYPE_CHECKING

import pytest
from uvicorn.supervisors.multiprocess import SIGNALS

from resolver.cli.serving import Supervisor, server_config
from resolver.settings import Settings

if TYPE_CHECKING:
    from collections.abc import Iterator


@pytest.fixture
def restored_handlers() -> Iterator[None]:
    """uvicorn's supervisor takes over many signals; the test process gets its own back."""
    saved = {sig: signal.getsignal(sig) for sig in SIGNALS}
    yield
    for sig, handler in saved.items():
        signal.signal(sig, handler)


@pytest.mark.parametrize("workers", [1, 2])
def test_serve_gives_a_redemption_in_flight_its_whole_lease(workers: int) -> None:
    """The graceful-shutdown timeout is at least the longest claim lease."""
    settings = Settings(_env_file=None)
    config = server_config(settings, workers)
    assert config.timeout_graceful_shutdown is not None
    assert config.timeout_graceful_shutdown >= settings.longest_lease_seconds
    assert config.workers == workers


def test_the_supervisor_closes_its_copy_of_the_listening_socket_on_sigterm(
    restored_handlers: None,
) -> None:
    """Once the workers close theirs, the kernel refuses new connections instead of queueing."""
    listening = socket.create_server(("127.0.0.1", 0))
    supervisor = Supervisor(server_config(Settings(_env_file=None), 2), sockets=[listening])
    signal.raise_signal(signal.SIGTERM)
    assert listening.fileno() == -1
    assert supervisor.stopping
    assert supervisor.signal_queue == [signal.SIGTERM]  # uvicorn's own handling still follows
