"""The Python load generator, for machines without wrk.

A deliberately small HTTP/1.1 client on uvloop: one keep-alive connection per task, requests
written as bytes, answers read by their Content-Length (the only framing the two servers under
test use). A general client such as httpx spends several times more CPU per request, and
here the client shares the machine with the service it measures; the benchmark prints this
client's ceiling so nobody has to take its headroom on trust.
"""

from __future__ import annotations

import asyncio
import sys
import time
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from resolver_bench.load import Load, Measured, percentile

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

READ_TIMEOUT_S = 30.0


class PythonClient:
    """Runs a `Load` from this process, on uvloop when it is installed."""

    name = "python (asyncio, keep-alive)"

    def run(self, load: Load) -> Measured:
        """Send every request of `load` once and measure."""
        runner = asyncio.Runner(loop_factory=_loop_factory())
        with runner:
            return runner.run(_drive(load))


async def _drive(load: Load) -> Measured:
    numbers = iter(range(load.requests))
    latencies: list[float] = []
    refused: list[int] = []
    started = time.perf_counter()
    await asyncio.gather(
        *(
            _connection(load, numbers, latencies, refused)
            for _ in range(min(load.connections, load.requests))
        )
    )
    seconds = time.perf_counter() - started
    latencies.sort()
    return Measured(
        completed=len(latencies),
        # Refused (another status than 200), or never answered.
        failed=len(refused) + load.requests - len(latencies),
        seconds=seconds,
        p50=percentile(latencies, 50),
        p95=percentile(latencies, 95),
        p99=percentile(latencies, 99),
    )


async def _connection(
    load: Load, numbers: Iterator[int], latencies: list[float], refused: list[int]
) -> None:
    """One connection sending requests until no number is left; latencies in milliseconds."""
    address = urlsplit(load.url)
    host, port = address.hostname or "127.0.0.1", address.port or 80
    reader, writer = await asyncio.open_connection(host, port)
    head = f"{load.method} {load.path} HTTP/1.1\r\nHost: {host}:{port}\r\n"
    head += "".join(f"{name}: {value}\r\n" for name, value in load.headers.items())
    try:
        for number in numbers:
            body = load.body_for(number).encode()
            request = f"{head}Content-Length: {len(body)}\r\n\r\n".encode() + body
            sent = time.perf_counter()
            writer.write(request)
            try:
                status = await asyncio.wait_for(_answer(reader), READ_TIMEOUT_S)
            except (OSError, asyncio.IncompleteReadError, TimeoutError, ValueError):
                return  # this connection is unusable; the others carry on
            latencies.append((time.perf_counter() - sent) * 1000)
            if status != 200:
                refused.append(number)
    finally:
        writer.close()


async def _answer(reader: asyncio.StreamReader) -> int:
    """Read one response; return its status."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    length = None
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value)
    if length is None:
        raise ValueError("an answer without Content-Length")
    await reader.readexactly(length)
    return status


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    if sys.platform == "win32":
        return None
    import uvloop  # noqa: PLC0415  # not installed on Windows

    return uvloop.new_event_loop
