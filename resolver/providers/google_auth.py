"""Google service-account OAuth for the Wallet API, as an `httpx.Auth`.

google-auth (Google's own, well-kept library) does the protocol: it signs the RS256 assertion
with the service account's key and exchanges it at the token endpoint (retrying what it
considers retryable). Its transport interface is synchronous, so the exchange runs in a worker
thread whose requests are handed back to the event loop's shared httpx client: one client, one
pool, and a test's transport (respx, or the sandbox in process) sees the token call too.
The token itself is shared by every replica through `TokenStore` and fetched about hourly.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import json
from datetime import UTC
from typing import TYPE_CHECKING, Any

import httpx
from google.auth import exceptions as google_errors
from google.auth import transport
from google.oauth2 import service_account

from resolver.domain.errors import (
    StoreUnavailable,
    UpstreamAuthError,
    UpstreamError,
    UpstreamUnreachable,
)
from resolver.domain.tokens import Token

if TYPE_CHECKING:
    from collections.abc import AsyncGenerator, Generator, Mapping

    from resolver.domain.tokens import TokenStore

SCOPE = "https://www.googleapis.com/auth/wallet_object.issuer"
# The thread waits at most this long for one token request the event loop runs for it.
EXCHANGE_TIMEOUT_S = 60.0


def parse_key_file(text: str) -> dict[str, Any]:
    """A service account JSON key file's content, checked by google-auth; ValueError if unusable."""
    try:
        info = json.loads(text)
    except ValueError:
        raise ValueError("is not a service account JSON key file") from None
    if not isinstance(info, dict):
        raise ValueError("is not a service account JSON key file")  # for pydantic
    try:
        service_account.Credentials.from_service_account_info(info, scopes=[SCOPE])
    except (ValueError, KeyError, TypeError) as error:
        raise ValueError(f"is not a usable service account key ({error})") from None
    return info


class GoogleServiceAccountAuth(httpx.Auth):
    """`Authorization: Bearer <access token>` from a service account, shared through Redis.

    A 401 drops the token everywhere (if it is still the current one), so the next request
    fetches a new one; the refused request itself is not repeated.
    """

    def __init__(
        self,
        info: Mapping[str, Any],
        *,
        client: httpx.AsyncClient,
        tokens: TokenStore,
        name: str,
        token_url: str | None = None,
    ) -> None:
        self._info = {**info, **({"token_uri": token_url} if token_url else {})}
        # Parsed once here, so a broken key stops start-up rather than the first redemption.
        service_account.Credentials.from_service_account_info(self._info, scopes=[SCOPE])
        self._client = client
        self._tokens = tokens
        self._name = name

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        token = await self.token()
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code == 401:
            # If Redis fails too, the token still expires on its own; the 401 is reported anyway.
            with contextlib.suppress(StoreUnavailable):
                await self._tokens.forget(self._name, token)

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response]:
        raise RuntimeError("GoogleServiceAccountAuth works with httpx.AsyncClient only")

    async def token(self) -> str:
        """A current access token: shared, or fetched now by this caller alone."""
        try:
            return await self._tokens.token(self._name, self._fetch)
        except StoreUnavailable as error:
            raise UpstreamUnreachable(f"no access token: {error}") from error

    async def _fetch(self) -> Token:
        # A fresh credentials object per fetch: google-auth's objects are not meant to be
        # refreshed by two threads at once, and a lock whose lease ran out could allow that.
        credentials = service_account.Credentials.from_service_account_info(
            self._info, scopes=[SCOPE]
        )
        request = _LoopRequest(self._client, asyncio.get_running_loop())
        try:
            await asyncio.to_thread(credentials.refresh, request)
        except asyncio.CancelledError:
            # The exchange's deadline passed: stop the token request, so that the worker
            # thread waiting for it ends now rather than when its own timeout would.
            request.cancel()
            raise
        except google_errors.TransportError as error:
            raise UpstreamUnreachable(f"Google token endpoint: {error}") from error
        except google_errors.RefreshError as error:
            if error.retryable:  # still failing after google-auth's own retries
                raise UpstreamUnreachable(f"Google token endpoint: {error}") from error
            raise UpstreamAuthError(401, f"Google refused the service account: {error}") from error
        if not credentials.token or credentials.expiry is None:
            raise UpstreamAuthError(401, "Google's token endpoint answered without a token")
        # google-auth keeps expiry as a naive UTC datetime.
        expires_at = credentials.expiry.replace(tzinfo=UTC).timestamp()
        return Token(str(credentials.token), expires_at)


class _LoopResponse(transport.Response):
    def __init__(self, response: httpx.Response) -> None:
        self._response = response

    @property
    def status(self) -> int:
        return self._response.status_code

    @property
    def headers(self) -> Mapping[str, str]:
        return dict(self._response.headers)

    @property
    def data(self) -> bytes:
        return self._response.content


class _LoopRequest(transport.Request):
    """google-auth's synchronous transport, run by the event loop's async client.

    Called from a worker thread only: it blocks that thread, never the loop.
    """

    def __init__(self, client: httpx.AsyncClient, loop: asyncio.AbstractEventLoop) -> None:
        self._client = client
        self._loop = loop
        self._pending: concurrent.futures.Future[httpx.Response] | None = None

    def cancel(self) -> None:
        """Called on the loop: abandon the request the worker thread is waiting for."""
        if self._pending is not None:
            self._pending.cancel()

    def __call__(
        self,
        url: str,
        method: str = "GET",
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
        **kwargs: Any,
    ) -> transport.Response:
        exchange = self._client.request(method, url, content=body, headers=headers)
        future = asyncio.run_coroutine_threadsafe(exchange, self._loop)
        self._pending = future
        try:
            return _LoopResponse(future.result(EXCHANGE_TIMEOUT_S))
        except (httpx.HTTPError, TimeoutError, UpstreamError) as error:
            future.cancel()
            raise google_errors.TransportError(f"{type(error).__name__}: {error}") from error
        except concurrent.futures.CancelledError as error:
            raise google_errors.TransportError("the token request was abandoned") from error
