"""Counting the round trips to Redis: every write of a connection is one (a pipeline's
commands go in one write), named by the commands it carries."""

from __future__ import annotations

import re
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from redis.asyncio.connection import AbstractConnection

from resolver.storage.audit import AuditTrail

if TYPE_CHECKING:
    from collections.abc import Iterator

    import pytest
    from redis.asyncio import Redis

# A command's name: the first bulk string after an array header.
COMMAND = re.compile(rb"\*\d+\r\n\$\d+\r\n([A-Za-z]+)\r\n")
# What a connection sends by itself (health checks), not a request's round trip.
HOUSEKEEPING = frozenset({"PING", "CLIENT", "HELLO", "SELECT"})


@contextmanager
def counting(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[list[str]]]:
    """The round trips sent while the context is open, each the list of its commands."""
    sent: list[list[str]] = []
    original = AbstractConnection.send_packed_command

    async def send(self: AbstractConnection, command: Any, check_health: bool = True) -> None:
        data = command if isinstance(command, bytes | str) else b"".join(command)
        data = data.encode() if isinstance(data, str) else data
        names = [name.decode().upper() for name in COMMAND.findall(data)]
        if names and not set(names) <= HOUSEKEEPING:
            sent.append(names)
        await original(self, command, check_health)

    monkeypatch.setattr(AbstractConnection, "send_packed_command", send)
    try:
        yield sent
    finally:
        monkeypatch.setattr(AbstractConnection, "send_packed_command", original)


async def trail_of(redis: Redis) -> list[tuple[str, dict[str, str]]]:
    """Every entry of the audit trail, oldest first: (id, fields)."""
    trail = AuditTrail(redis, retention_days=1)
    return [(entry.id, entry.fields) async for entry in trail.entries()]
