"""How the resolver proves itself to PassKit: a short-lived HS256 JWT, or a long-lived token.

PassKit checks `uid` (the REST API key), `iat` and `exp`, and refuses a token whose `exp` is more
than about a minute ahead or whose `iat` looks to be in the future (clock skew). So the token is
back-dated a little, lives well under a minute, and is reused until shortly before it expires:
signing on every request would be wasted work on a busy day.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import jwt

from resolver.providers.exchange import StaticAuth

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

# iat is back-dated so a PassKit clock slightly behind ours does not see a token "used before
# issued"; exp stays well under PassKit's ~60 s limit even for a clock slightly ahead of ours.
BACKDATE_SECONDS = 20
LIFETIME_SECONDS = 40
RENEW_BEFORE_SECONDS = 10


class PassKitJWTAuth(StaticAuth):
    """Signs `Authorization: <jwt>` (no `Bearer`), reusing one token until it nearly expires."""

    def __init__(self, api_key: str, api_secret: str, clock: Callable[[], float] = time.time):
        self._api_key = api_key
        self._api_secret = api_secret
        self._clock = clock
        self._token = ""
        self._renew_at = 0.0

    def token(self) -> str:
        now = self._clock()
        if now >= self._renew_at:
            issued = int(now)
            claims = {
                "uid": self._api_key,
                "iat": issued - BACKDATE_SECONDS,
                "exp": issued + LIFETIME_SECONDS,
            }
            self._token = jwt.encode(claims, self._api_secret, algorithm="HS256")
            self._renew_at = issued + LIFETIME_SECONDS - RENEW_BEFORE_SECONDS
        return self._token

    def credentials(self) -> Mapping[str, str]:
        return {"Authorization": self.token()}


class PassKitTokenAuth(StaticAuth):
    """The portal's long-lived token, sent as `Authorization: Bearer <token>`."""

    def __init__(self, token: str) -> None:
        self._header = f"Bearer {token}"

    def credentials(self) -> Mapping[str, str]:
        return {"Authorization": self._header}
