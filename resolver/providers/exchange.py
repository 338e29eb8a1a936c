"""Sending one request to a back end, and reading what came back, the same way for every provider.

Whether a failed request may have been applied is the question the use case lives by, so the
transport errors are sorted here once: a request that never reached the back end (connect,
pool) is `UpstreamUnreachable`; one that left and got no answer in time is `UpstreamTimeout`;
one whose connection broke after it left is `UpstreamConnectionLost`. The answer's status and
body are the provider's business.

Most requests take a direct path: the process's own client (`UpstreamClient`) hands method, URL,
headers and body to its transport at once, skipping httpx's per-request machinery (URL
merging, cookie jars, redirect and auth-flow loops), which cost as much CPU as the wire work
itself. Only credentials that are fixed headers (`StaticAuth`) take it; an auth flow
that must see the answer (an OAuth token to refresh) goes through httpx as before. Either path
ends in the same transport, so failures are classified the same way.
"""

from __future__ import annotations

import abc
import json as jsonlib
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import httpx

from resolver.domain.errors import (
    UpstreamAuthError,
    UpstreamConnectionLost,
    UpstreamRejected,
    UpstreamTimeout,
    UpstreamUnreachable,
)

if TYPE_CHECKING:
    from collections.abc import Generator, Mapping, Sequence

# Absolute URLs only take the direct path: a relative one is httpx's to join to a base URL.
ABSOLUTE = ("https://", "http://")


class DirectTransport(httpx.AsyncBaseTransport):
    """An httpx transport that can also send a request given as its parts (no `httpx.Request`
    to build), with httpx's timeout names: `connect`, `read`, `write`, `pool`."""

    @abc.abstractmethod
    async def exchange(
        self,
        method: str,
        url: str,
        headers: Sequence[tuple[str, str]],
        body: bytes,
        timeouts: Mapping[str, float | None],
    ) -> httpx.Response: ...


class UpstreamClient(httpx.AsyncClient):
    """The process's one client to the back ends, sending directly when its transport can.

    Its default headers and timeouts are read once, here, not on every request.
    """

    def __init__(self, *, transport: httpx.AsyncBaseTransport, **kwargs: Any) -> None:
        super().__init__(transport=transport, **kwargs)
        self._direct = transport if isinstance(transport, DirectTransport) else None
        self._defaults = tuple(self.headers.multi_items())
        self._timeout_parts = self.timeout.as_dict()

    def sends_directly(self, url: str, auth: httpx.Auth | None) -> bool:
        """Whether a request to `url` with `auth` can skip httpx's request machinery."""
        return (
            self._direct is not None
            and (auth is None or isinstance(auth, StaticAuth))
            and url.startswith(ABSOLUTE)
        )

    async def send_directly(
        self,
        method: str,
        url: str,
        *,
        auth: StaticAuth | None,
        json: object,
        params: Mapping[str, str] | None,
        headers: Mapping[str, str] | None,
    ) -> httpx.Response:
        """What `request` would send, built from its parts: the same headers, the same JSON
        encoding (httpx's compact UTF-8), the same query string. Header names are merged
        case-insensitively, as lower case (the client's defaults already are)."""
        assert self._direct is not None
        if params:
            url += ("&" if "?" in url else "?") + urlencode(params)
        merged = dict(self._defaults)
        body = b""
        if json is not None:
            body = jsonlib.dumps(
                json, ensure_ascii=False, separators=(",", ":"), allow_nan=False
            ).encode()
            merged["content-type"] = "application/json"
        for extra in (headers, auth.credentials() if auth else None):
            if extra:
                merged.update((name.lower(), value) for name, value in extra.items())
        return await self._direct.exchange(
            method, url, list(merged.items()), body, self._timeout_parts
        )


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
        if isinstance(client, UpstreamClient) and client.sends_directly(url, auth):
            assert auth is None or isinstance(auth, StaticAuth)
            return await client.send_directly(
                method, url, auth=auth, json=json, params=params, headers=headers
            )
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


class StaticAuth(httpx.Auth):
    """Credentials that are fixed headers: httpx's auth flow, and `credentials` for the direct
    path. Subclasses say what the headers are."""

    def credentials(self) -> Mapping[str, str]:
        raise NotImplementedError

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response]:
        request.headers.update(self.credentials())
        yield request


class HeadersAuth(StaticAuth):
    """Credentials sent as fixed headers (`X-Api-Key: …`, `Authorization: Bearer …`)."""

    def __init__(self, headers: Mapping[str, str]) -> None:
        self._headers = dict(headers)

    def credentials(self) -> Mapping[str, str]:
        return self._headers


def refusal(response: httpx.Response, message: str) -> UpstreamRejected:
    """The error for a non-success answer: 401/403 are the credentials, the rest a rejection."""
    if response.status_code in (401, 403):
        return UpstreamAuthError(response.status_code, message)
    return UpstreamRejected(response.status_code, message)
