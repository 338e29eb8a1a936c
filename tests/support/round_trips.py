"""Counting the round trips to Redis: every write of a connection is one (a pipeline's
commands go in one write), named by the commands it carries."""

from __future__ import annotations

import asyncio
import re
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from resolver.storage.audit import AuditTrail

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    import pytest
    from redis.asyncio import Redis

# A command's name: the first bulk string after an array header.
COMMAND = re.compile(rb"\*\d+\r\n\$\d+\r\n([A-Za-z]+)\r\n")
# What a connection sends by itself (health checks), not a request's round trip.
HOUSEKEEPING = frozenset({"PING", "CLIENT", "HELLO", "SELECT"})


@contextmanager
def counting(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[list[str]]]:
    """The round trips sent while the context is open, each the list of its commands.

    Counted where every command ends, whoever sends it (redis-py, or the service's own script
    path in `resolver.storage.redis`): the connection's stream, one write at a time."""
    sent: list[list[str]] = []

    def record(data: bytes) -> None:
        names = [name.decode().upper() for name in COMMAND.findall(data)]
        if names and not set(names) <= HOUSEKEEPING:
            sent.append(names)

    write, writelines = asyncio.StreamWriter.write, asyncio.StreamWriter.writelines

    def counted_write(self: asyncio.StreamWriter, data: Any) -> None:
        record(bytes(data))
        write(self, data)

    def counted_writelines(self: asyncio.StreamWriter, data: Iterable[Any]) -> None:
        chunks = list(data)
        record(b"".join(bytes(chunk) for chunk in chunks))
        writelines(self, chunks)

    monkeypatch.setattr(asyncio.StreamWriter, "write", counted_write)
    monkeypatch.setattr(asyncio.StreamWriter, "writelines", counted_writelines)
    try:
        yield sent
    finally:
        monkeypatch.setattr(asyncio.StreamWriter, "write", write)
        monkeypatch.setattr(asyncio.StreamWriter, "writelines", writelines)


async def trail_of(redis: Redis) -> list[tuple[str, dict[str, str]]]:
    """Every entry of the audit trail, oldest first: (id, fields)."""
    trail = AuditTrail(redis, retention_days=1)
    return [(entry.id, entry.fields) async for entry in trail.entries()]
