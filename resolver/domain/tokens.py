"""Access tokens that every replica shares: a back end's OAuth token (Google's lasts an hour),
and the store that keeps it (`resolver.storage.token_cache` on Redis).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable


@dataclass(frozen=True, slots=True)
class Token:
    """An access token and when it expires (seconds since the epoch)."""

    value: str
    expires_at: float


class TokenStore(Protocol):
    """Tokens shared by every replica, fetched by one caller at a time."""

    async def token(self, name: str, fetch: Callable[[], Awaitable[Token]]) -> str:
        """A current token for `name`: the shared one, or one `fetch` gets now."""
        ...

    async def forget(self, name: str, value: str) -> None:
        """Drop the shared token if it is still `value` (the back end refused it)."""
        ...
