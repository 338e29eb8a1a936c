"""The overload scenario's open-loop generator: arrivals on a clock, answers sorted by status."""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING

import pytest
from resolver_bench.overload import open_loop

if TYPE_CHECKING:
    from collections.abc import AsyncIterator


async def answer_by_number(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """A keep-alive HTTP/1.1 server: 200 for an even coupon number, 503 for an odd one."""
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = next(
                int(line.split(b":")[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            )
            number = int(json.loads(await reader.readexactly(length))["externalId"][2:])
            status = b"200 OK" if number % 2 == 0 else b"503 Service Unavailable"
            writer.write(b"HTTP/1.1 " + status + b"\r\nContent-Length: 2\r\n\r\n{}")
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        writer.close()


@pytest.fixture
async def server() -> AsyncIterator[str]:
    listening = await asyncio.start_server(answer_by_number, "127.0.0.1", 0)
    port = listening.sockets[0].getsockname()[1]
    async with listening:
        yield f"http://127.0.0.1:{port}"


async def test_every_scheduled_request_is_sent_once_and_counted_by_its_answer(
    server: str,
) -> None:
    """50 arrivals in 0.25 s: 25 accepted (200) and 25 refused (503), none lost."""
    accepted, refused, other = await open_loop(server, rate=200, seconds=0.25, prefix="t-")
    assert (len(accepted), len(refused), len(other)) == (25, 25, 0)
    assert all(latency >= 0 for latency in accepted + refused)
