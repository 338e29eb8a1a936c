"""PassKit's credentials: a short-lived HS256 JWT, or the legacy long-lived bearer token.

PassKit wants `Authorization: <jwt>` (no "Bearer"), signed with the REST API secret, whose
`uid` claim is the REST API key, with `iat` not in the future and `exp` at most 60 s ahead.
The portal's long-lived token is the one credential sent as `Authorization: Bearer <token>`.
"""

from __future__ import annotations

import hmac
import json
import time
from typing import TYPE_CHECKING

import jwt
from jwt.algorithms import HMACAlgorithm

if TYPE_CHECKING:
    from collections.abc import Callable

# The demo credentials are defined once, beside the service's settings that fall back to them.
# The sandbox's well-known demo credentials: they open nothing real.
DEFAULT_API_KEY = "sandbox-key"
DEFAULT_API_SECRET = "sandbox-secret-for-local-demos-only"  # noqa: S105  # 32+ bytes for HS256

# PassKit refuses tokens that live longer than this; clocks may run this far ahead of ours.
MAX_LIFETIME_S = 60.0
ISSUED_AT_SKEW_S = 1.0
_BEARER = "Bearer "
# Tokens are reused until close to `exp`, so their verified claims are kept for the next call.
_CACHE_LIMIT = 4096


class HMACWithAnyKeyLength(HMACAlgorithm):
    """HS256 without PyJWT's short-key warning.

    The sandbox must accept whatever secret the developer configured, the default demo secret
    included; the warning would fire on every new token, and silencing it per call with
    `warnings.catch_warnings` is not thread-safe when the sandbox runs beside the service.
    """

    def check_key_length(self, key: bytes) -> str | None:
        """Accept keys of any length (see the class docstring)."""
        return None


class Authenticator:
    """Says whether an `Authorization` header carries PassKit credentials for this account."""

    def __init__(
        self,
        *,
        api_key: str = DEFAULT_API_KEY,
        api_secret: str = DEFAULT_API_SECRET,
        token: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._api_key = api_key
        self._api_secret = api_secret
        self._token = token
        self._clock = clock
        self._jws = jwt.PyJWS(algorithms=["HS256"])
        self._jws.unregister_algorithm("HS256")
        self._jws.register_algorithm("HS256", HMACWithAnyKeyLength(HMACAlgorithm.SHA256))
        # token -> (iat, exp) of tokens whose signature and uid were already checked.
        self._verified: dict[str, tuple[float, float]] = {}

    def refusal(self, header: str | None) -> str | None:
        """Why `header` is refused, or None when it authenticates the call."""
        if not header:
            return "missing Authorization header"
        if header.startswith(_BEARER):
            return self._bearer_refusal(header[len(_BEARER) :])
        claims = self._verified.get(header) or self._verify(header)
        if isinstance(claims, str):
            return claims
        return _timing_refusal(*claims, now=self._clock())

    def _bearer_refusal(self, credential: str) -> str | None:
        if self._token is not None and hmac.compare_digest(credential, self._token):
            return None
        if credential.count(".") == 2:
            return "JWT must be sent without the Bearer prefix"
        return "invalid token"

    def _verify(self, token: str) -> tuple[float, float] | str:
        """The (iat, exp) of a correctly signed token for this key, or why it is refused."""
        claims = self._signed_claims(token)
        if isinstance(claims, str):
            return claims
        verified = _claim_times(claims, self._api_key)
        if isinstance(verified, str):
            return verified
        if len(self._verified) >= _CACHE_LIMIT:
            self._verified.clear()
        self._verified[token] = verified
        return verified

    def _signed_claims(self, token: str) -> dict[str, object] | str:
        """The claims of `token` if its HS256 signature is right, or why it is refused."""
        try:
            payload = self._jws.decode(token, self._api_secret, algorithms=["HS256"])
        except jwt.InvalidSignatureError:
            return "bad signature"
        except jwt.InvalidAlgorithmError:
            return "token must be signed with HS256"
        except jwt.InvalidTokenError:
            return "malformed token"
        try:
            claims = json.loads(payload)
        except ValueError:
            claims = None
        return claims if isinstance(claims, dict) else "malformed token"


def _claim_times(claims: dict[str, object], api_key: str) -> tuple[float, float] | str:
    """The (iat, exp) of claims made for `api_key`, or why they are refused."""
    uid = claims.get("uid")
    if not isinstance(uid, str) or not hmac.compare_digest(uid, api_key):
        return "unknown api key (uid)"
    issued_at, expires = claims.get("iat"), claims.get("exp")
    if isinstance(issued_at, bool) or not isinstance(issued_at, int | float):
        return "token has no iat claim"
    if isinstance(expires, bool) or not isinstance(expires, int | float):
        return "token has no exp claim"
    return float(issued_at), float(expires)


def _timing_refusal(issued_at: float, expires: float, *, now: float) -> str | None:
    if issued_at > now + ISSUED_AT_SKEW_S:
        return "token used before issued"
    if expires <= now:
        return "token expired"
    if expires - now > MAX_LIFETIME_S:
        return "token lifetime too long"
    return None
