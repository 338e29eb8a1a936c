"""One request on a new connection, told apart the way a client must: refused, answered, or broken.

httpx folds a refused connect and a reset after the request was sent into a few exception
types; here the three are kept apart, because only a break after sending leaves the client
unable to tell whether its request was applied. A connection reset while it was being made
(the listener closed during the handshake) counts as refused: nothing was sent.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any, Literal

Kind = Literal["refused", "answered", "broken"]
STATUS_LINE_END = b"\r\n"
HEAD_END = b"\r\n\r\n"
# Longer than any answer takes here; a probe that waits this long counts as broken.
PATIENCE_S = 20.0


@dataclass(frozen=True, slots=True)
class Probe:
    """What became of one request on a connection of its own."""

    kind: Kind
    status: int = 0
    body: bytes = b""
    detail: str = ""

    def json(self) -> Any:
        return json.loads(self.body)


def request(method: str, path: str, body: object = None) -> bytes:
    """An HTTP/1.1 request asking the server to close the connection after answering."""
    payload = b"" if body is None else json.dumps(body).encode()
    head = [f"{method} {path} HTTP/1.1", "Host: resolver.test", "Connection: close"]
    if body is not None:
        head += ["Content-Type: application/json", f"Content-Length: {len(payload)}"]
    return "\r\n".join(head).encode() + HEAD_END + payload


async def probe(host: str, port: int, raw: bytes) -> Probe:
    """Connect, send `raw` whole, and read the answer to its end."""
    try:
        async with asyncio.timeout(PATIENCE_S):
            reader, writer = await asyncio.open_connection(host, port)
    except (ConnectionRefusedError, ConnectionResetError) as error:
        return Probe("refused", detail=repr(error))
    except (OSError, TimeoutError) as error:  # nothing was sent, but it was not refused either
        return Probe("broken", detail=f"connect: {error!r}")
    try:
        async with asyncio.timeout(PATIENCE_S):
            writer.write(raw)
            await writer.drain()
            head = await reader.readuntil(HEAD_END)
            status = int(head.split(STATUS_LINE_END, 1)[0].split()[1])
            length = next(
                int(line.split(b":", 1)[1])
                for line in head.lower().split(STATUS_LINE_END)
                if line.startswith(b"content-length:")
            )
            body = await reader.readexactly(length)
        return Probe("answered", status, body)
    except (OSError, asyncio.IncompleteReadError, TimeoutError) as error:
        return Probe("broken", detail=repr(error))
    finally:
        writer.close()
