"""Bounded polling: the only way these tests wait for another process."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

T = TypeVar("T")
INTERVAL_S = 0.05


async def eventually(check: Callable[[], Awaitable[T | None]], within: float, what: str) -> T:
    """The first result of `check` that is not None, polled for at most `within` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        result = await check()
        if result is not None:
            return result
        if loop.time() > deadline:
            raise AssertionError(f"{what} did not happen within {within} s")
        await asyncio.sleep(INTERVAL_S)
