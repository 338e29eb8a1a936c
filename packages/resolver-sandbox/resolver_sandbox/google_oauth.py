"""A simulated Google OAuth 2.0 token endpoint (`POST /oauth2/token`), and sandbox service accounts.

A service account proves itself with an RS256 JWT assertion (RFC 7523): `iss` is its e-mail,
`aud` Google's token endpoint, `scope` what it asks for, and `exp` at most an hour after `iat`.
The endpoint checks all of that, and the signature too when it knows the account's public key
(tests register it; the zero-config demo generates a key per process, which the sandbox cannot
know, so there only the claims are checked). It answers like Google:
`{"access_token", "expires_in", "token_type": "Bearer"}`, or `{"error", "error_description"}`.
The tokens it issues open the simulated Wallet API and nothing else.
"""

from __future__ import annotations

import secrets
import time
from typing import TYPE_CHECKING
from urllib.parse import parse_qs

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.responses import JSONResponse
from starlette.routing import Route

if TYPE_CHECKING:
    from collections.abc import Callable

    from starlette.requests import Request

TOKEN_PATH = "/oauth2/token"  # noqa: S105  # a path, not a secret
# google-auth always names Google's endpoint as the audience, whatever URL it posts to.
AUDIENCE = "https://oauth2.googleapis.com/token"
GRANT_TYPE = "urn:ietf:params:oauth:grant-type:jwt-bearer"
WALLET_SCOPE = "https://www.googleapis.com/auth/wallet_object.issuer"
DEMO_ACCOUNT = "resolver-demo@sandbox-project.iam.gserviceaccount.com"
MAX_ASSERTION_LIFETIME_S = 3600
_CACHE_LIMIT = 4096


def service_account(token_uri: str, email: str = DEMO_ACCOUNT) -> tuple[dict[str, str], str]:
    """A new service account key file (as a dict) for `token_uri`, and its public key (PEM)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    info = {
        "type": "service_account",
        "project_id": "sandbox-project",
        "private_key_id": secrets.token_hex(20),
        "private_key": private,
        "client_email": email,
        "client_id": "100000000000000000001",
        "token_uri": token_uri,
    }
    return info, public


class TokenIssuer:
    """Issues access tokens to service accounts and says whether a bearer token is one of them."""

    def __init__(
        self,
        *,
        public_keys: dict[str, str] | None = None,
        lifetime_s: int = 3600,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """`public_keys`: account e-mail → PEM key; without any, signatures go unchecked."""
        self.public_keys = dict(public_keys or {})
        self.lifetime_s = lifetime_s
        self.issued = 0
        self._clock = clock
        self._tokens: dict[str, float] = {}

    def routes(self) -> list[Route]:
        return [Route(TOKEN_PATH, self.token, methods=["POST"])]

    async def token(self, request: Request) -> JSONResponse:
        """Exchange a JWT assertion for an access token."""
        form = {
            name: values[0] for name, values in parse_qs((await request.body()).decode()).items()
        }
        if form.get("grant_type") != GRANT_TYPE:
            return _error("unsupported_grant_type", "Invalid grant_type.")
        claims = self._claims(form.get("assertion", ""))
        if isinstance(claims, str):
            return _error("invalid_grant", claims)
        if WALLET_SCOPE not in str(claims.get("scope", "")).split():
            return _error("invalid_scope", "The wallet_object.issuer scope is required.")
        if len(self._tokens) >= _CACHE_LIMIT:
            self._tokens.clear()
        access_token = "ya29.sandbox-" + secrets.token_urlsafe(24)
        self._tokens[access_token] = self._clock() + self.lifetime_s
        self.issued += 1
        return JSONResponse(
            {"access_token": access_token, "expires_in": self.lifetime_s, "token_type": "Bearer"}
        )

    def refusal(self, header: str | None) -> str | None:
        """Why `Authorization: <header>` does not open the Wallet API, or None when it does."""
        scheme, _, token = (header or "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            return "Request is missing required authentication credential."
        expires = self._tokens.get(token)
        if expires is None or expires <= self._clock():
            return "Request had invalid authentication credentials."
        return None

    def _claims(self, assertion: str) -> dict[str, object] | str:
        """The assertion's claims if it is acceptable, or why it is refused."""
        try:
            issuer = str(jwt.decode(assertion, options={"verify_signature": False}).get("iss"))
        except jwt.InvalidTokenError:
            return "Invalid JWT: malformed assertion."
        key = self.public_keys.get(issuer)
        if self.public_keys and key is None:
            return "Invalid JWT Signature: unknown service account."
        try:
            claims: dict[str, object] = jwt.decode(
                assertion,
                key or "",
                algorithms=["RS256"],
                audience=AUDIENCE,
                options={"verify_signature": key is not None, "require": ["iat", "exp", "iss"]},
                leeway=30,
            )
        except jwt.InvalidSignatureError:
            return "Invalid JWT Signature."
        except jwt.InvalidTokenError as error:
            return f"Invalid JWT: {error}"
        return _lifetime_refusal(claims) or claims


def _lifetime_refusal(claims: dict[str, object]) -> str | None:
    issued, expires = claims.get("iat"), claims.get("exp")
    if not isinstance(issued, int | float) or not isinstance(expires, int | float):
        return "Invalid JWT: iat and exp must be numbers."
    if expires - issued > MAX_ASSERTION_LIFETIME_S:
        return "Invalid JWT: Token must be a short-lived token (60 minutes)."
    return None


def _error(error: str, description: str) -> JSONResponse:
    return JSONResponse({"error": error, "error_description": description}, status_code=400)
