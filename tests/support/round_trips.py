"""Counting the round trips to Redis: every write of a connection is one (a pipeline's
commands go in one write), named by the commands it carries."""

from __future__ import annotations

import re
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from redis.asyncio.connection import AbstractConnection

from resolver.storage.audit import AuditTrail
from resolver.storage.connections import BoundedWrites

if TYPE_CHECKING:
    from collections.abc import Iterator

    import pytest
    from redis.asyncio import Redis

# A command's name: the first bulk string after an array header.
COMMAND = re.compile(rb"\*\d+\r\n\$\d+\r\n([A-Za-z]+)\r\n")
# What a connection sends by itself (health checks), not a request's round trip.
HOUSEKEEPING = frozenset({"PING", "CLIENT", "HELLO", "SELECT"})
# Set while a counted send runs, so that a send calling another is counted once.
counting_now: ContextVar[bool] = ContextVar("counting_now", default=False)


@contextmanager
def counting(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[list[str]]]:
    """The round trips sent while the context is open, each the list of its commands."""
    sent: list[list[str]] = []
    # redis-py's connections, and the service's own that bound their writes differently.
    kinds: list[Any] = [AbstractConnection, BoundedWrites]
    originals = {kind: kind.send_packed_command for kind in kinds}

    def counted(original: Any) -> Any:
        async def send(self: AbstractConnection, command: Any, check_health: bool = True) -> None:
            data = command if isinstance(command, bytes | str) else b"".join(command)
            data = data.encode() if isinstance(data, str) else data
            names = [name.decode().upper() for name in COMMAND.findall(data)]
            # A service connection passes through both methods; it is counted once.
            if names and not set(names) <= HOUSEKEEPING and not counting_now.get():
                sent.append(names)
            token = counting_now.set(True)
            try:
                await original(self, command, check_health)
            finally:
                counting_now.reset(token)

        return send

    for kind, original in originals.items():
        monkeypatch.setattr(kind, "send_packed_command", counted(original))
    try:
        yield sent
    finally:
        for kind, original in originals.items():
            monkeypatch.setattr(kind, "send_packed_command", original)


async def trail_of(redis: Redis) -> list[tuple[str, dict[str, str]]]:
    """Every entry of the audit trail, oldest first: (id, fields)."""
    trail = AuditTrail(redis, retention_days=1)
    return [(entry.id, entry.fields) async for entry in trail.entries()]
