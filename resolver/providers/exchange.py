"""Sending one request to a back end, and reading what came back, the same way for every provider.

Whether a failed request may have been applied is the question the use case lives by, so the
transport errors are sorted here once: a request that never reached the back end (connect,
pool) is `UpstreamUnreachable`; one that left and got no answer in time is `UpstreamTimeout`;
one whose connection broke after it left is `UpstreamConnectionLost`. The answer's status and
body are the provider's business.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx

from resolver.domain.errors import (
    UpstreamAuthError,
    UpstreamConnectionLost,
    UpstreamRejected,
    UpstreamTimeout,
    UpstreamUnreachable,
)

if TYPE_CHECKING:
    from collections.abc import Generator, Mapping


async def send(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    *,
    backend: str,
    auth: httpx.Auth | None = None,
    json: object = None,
    params: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
) -> httpx.Response:
    """Send one request through the process's shared client; transport failures classified.

    `url` may be absolute (a provider with its own base URL) or relative to the client's base.
    `auth` is the provider's own; the shared client has none, so no back end ever receives
    another's credentials. `backend` names the back end in error messages.
    """
    try:
        return await client.request(
            method,
            url,
            json=json,
            params=params,
            headers=headers,
            auth=auth,
        )
    except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as error:
        raise UpstreamUnreachable(f"{backend} unreachable: {type(error).__name__}") from error
    except httpx.TimeoutException as error:
        raise UpstreamTimeout(
            f"{backend} did not answer in time: {type(error).__name__}"
        ) from error
    except httpx.TransportError as error:
        raise UpstreamConnectionLost(
            f"connection to {backend} broke: {type(error).__name__}"
        ) from error


class HeadersAuth(httpx.Auth):
    """Credentials sent as fixed headers (`X-Api-Key: …`, `Authorization: Bearer …`)."""

    def __init__(self, headers: Mapping[str, str]) -> None:
        self._headers = dict(headers)

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response]:
        request.headers.update(self._headers)
        yield request


def refusal(response: httpx.Response, message: str) -> UpstreamRejected:
    """The error for a non-success answer: 401/403 are the credentials, the rest a rejection."""
    if response.status_code in (401, 403):
        return UpstreamAuthError(response.status_code, message)
    return UpstreamRejected(response.status_code, message)
