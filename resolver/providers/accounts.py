"""What an account of the campaigns file holds, per back end, and how it becomes a provider.

Accounts hold non-secret settings in clear and name their credentials by reference, never by
value: `{ env = "VAR" }` (an environment variable) or `{ file = "NAME" }` (a file in
`RESOLVER_SECRETS_DIR`), optionally with a `prefix` ("Bearer "). A secret written in clear is
refused. References are resolved while the file is validated, once, at start-up.

A provider's `name` is `<provider>:<account>`, and it is part of every Redis key: two accounts
never share a key, and renaming an account forgets its coupons' recent results.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import (
    BeforeValidator,
    Field,
    SecretStr,
    ValidationInfo,
    field_validator,
    model_validator,
)

from resolver.providers.generic import GenericHttp
from resolver.providers.google_auth import GoogleServiceAccountAuth, parse_key_file
from resolver.providers.google_wallet import DEFAULT_BASE_URL as GOOGLE_BASE_URL
from resolver.providers.google_wallet import GoogleWallet
from resolver.providers.http_templates import (
    LookupTemplate,
    RedeemTemplate,
    StaticOffer,
    looks_secret,
)
from resolver.providers.passkit import PassKit
from resolver.providers.passkit_auth import PassKitJWTAuth, PassKitTokenAuth
from resolver.providers.passworks import DEFAULT_BASE_URL as PASSWORKS_BASE_URL
from resolver.providers.passworks import Passworks
from resolver.providers.regions import PASSKIT_REGIONS
from resolver.providers.skycore import Skycore
from resolver.validation import Strict

if TYPE_CHECKING:
    import httpx

    from resolver.domain.tokens import TokenStore
    from resolver.redemption.ports import Provider

SECRET_FILE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]*")
DAY_S = 86_400
# How long a back end without read-back has its successes remembered, unless its account says.
DEFAULT_REMEMBER_DAYS = 30


@dataclass(frozen=True, slots=True)
class Wiring:
    """What every provider is built with: the process's one httpx client, the token cache."""

    http: httpx.AsyncClient
    tokens: TokenStore


def _resolve_secret(value: object, info: ValidationInfo) -> SecretStr:
    """A `{ env = … }` or `{ file = … }` reference, read now; a secret in clear is refused."""
    if isinstance(value, SecretStr):  # built in code (the sandbox demo), not read from the file
        return value
    if not isinstance(value, dict):
        raise ValueError(  # pydantic wants ValueError to report it per field
            'a secret is never written in the campaigns file: name where it is, { env = "VAR" } '
            'or { file = "NAME" } (a file in RESOLVER_SECRETS_DIR)'
        )
    unknown = set(value) - {"env", "file", "prefix"}
    if unknown or ("env" in value) == ("file" in value):
        raise ValueError("give exactly one of env or file, and optionally prefix")
    context = info.context or {}
    if "env" in value:
        name = str(value["env"])
        raw = str(context.get("environ", {}).get(name) or "").strip()
        if not raw:
            raise ValueError(f"environment variable {name} is not set")
    else:
        raw = _secret_file(str(value["file"]), context.get("secrets_dir"))
    return SecretStr(str(value.get("prefix", "")) + raw)


def _secret_file(name: str, secrets_dir: str | None) -> str:
    if not SECRET_FILE_NAME.fullmatch(name):
        raise ValueError(f"{name!r} must be a plain file name in RESOLVER_SECRETS_DIR")
    if not secrets_dir:
        raise ValueError(f"the secret file {name} needs RESOLVER_SECRETS_DIR")
    path = Path(secrets_dir) / name
    try:
        raw = path.read_text(encoding="utf-8").strip()
    except OSError as error:
        raise ValueError(f"{path} cannot be read ({error.strerror})") from None
    if not raw:
        raise ValueError(f"{path} is empty")
    return raw


Credential = Annotated[SecretStr, BeforeValidator(_resolve_secret)]


def _url(value: str) -> str:
    if not value.startswith(("https://", "http://")):
        raise ValueError("must start with https:// (or http:// for a local test server)")
    return value.rstrip("/")


class PassKitAccount(Strict):
    """PassKit: a REST key and secret (short-lived JWTs) or a long-lived token."""

    provider: Literal["passkit"]
    region: Literal["eu", "us"] = "eu"
    base_url: str | None = None
    api_key: str | None = None  # PassKit's key id, sent inside every JWT: not a secret
    api_secret: Credential | None = None
    token: Credential | None = None

    _base_url = field_validator("base_url")(lambda value: _url(value) if value else value)

    @model_validator(mode="after")
    def _credentials(self) -> PassKitAccount:
        if (self.api_key is None) != (self.api_secret is None):
            raise ValueError("api_key and api_secret go together")
        if (self.api_secret is None) == (self.token is None):
            raise ValueError("give api_key and api_secret, or token")
        return self

    def build(self, name: str, wiring: Wiring) -> Provider:
        base = self.base_url or PASSKIT_REGIONS[self.region]
        return PassKit(wiring.http, base_url=base, auth=self.auth(), name=name)

    def auth(self) -> httpx.Auth:
        """The account's credentials, as every request to PassKit carries them."""
        if self.api_key and self.api_secret:
            return PassKitJWTAuth(self.api_key, self.api_secret.get_secret_value())
        assert self.token is not None
        return PassKitTokenAuth(self.token.get_secret_value())


class PassworksAccount(Strict):
    """Passworks v2: HTTP Basic with the API username and key."""

    provider: Literal["passworks"]
    base_url: str = PASSWORKS_BASE_URL
    username: str = Field(min_length=1)
    api_key: Credential

    _base_url = field_validator("base_url")(_url)

    def build(self, name: str, wiring: Wiring) -> Provider:
        return Passworks(
            wiring.http,
            name=name,
            username=self.username,
            api_key=self.api_key.get_secret_value(),
            base_url=self.base_url,
        )


class SkycoreAccount(Strict):
    """Skycore v3: the account's own endpoint URL and its `X-Api-Key`."""

    provider: Literal["skycore"]
    endpoint: str
    api_key: Credential
    remember_days: int = Field(default=DEFAULT_REMEMBER_DAYS, ge=0, le=3650)

    _endpoint = field_validator("endpoint")(_url)

    def build(self, name: str, wiring: Wiring) -> Provider:
        return Skycore(
            wiring.http,
            name=name,
            endpoint=self.endpoint,
            api_key=self.api_key.get_secret_value(),
            remember=self.remember_days * DAY_S,
        )


class GoogleWalletAccount(Strict):
    """Google Wallet: an issuer id and a service account key (the JSON key file's text)."""

    provider: Literal["google_wallet"]
    issuer_id: str = Field(pattern=r"^[0-9]+$")
    service_account: Credential
    object_type: Literal["offer", "generic"] = "offer"
    base_url: str = GOOGLE_BASE_URL
    token_url: str | None = None  # the key file's token_uri unless given

    _urls = field_validator("base_url", "token_url")(lambda value: _url(value) if value else value)

    @field_validator("service_account")
    @classmethod
    def _key_file(cls, value: SecretStr) -> SecretStr:
        parse_key_file(value.get_secret_value())
        return value

    def build(self, name: str, wiring: Wiring) -> Provider:
        info = parse_key_file(self.service_account.get_secret_value())
        auth = GoogleServiceAccountAuth(
            info, client=wiring.http, tokens=wiring.tokens, name=name, token_url=self.token_url
        )
        return GoogleWallet(
            wiring.http,
            name=name,
            issuer_id=self.issuer_id,
            auth=auth,
            object_type=self.object_type,
            base_url=self.base_url,
        )


class HttpAccount(Strict):
    """A back end described by request templates (in-house APIs, Badge, Make)."""

    provider: Literal["http"]
    base_url: str
    headers: dict[str, str] = Field(default_factory=dict)
    secret_headers: dict[str, Credential] = Field(default_factory=dict)
    redeem: RedeemTemplate
    lookup: LookupTemplate | None = None
    offer: StaticOffer | None = None
    coupon_id: str = "{external_id}"
    remember_days: int = Field(default=DEFAULT_REMEMBER_DAYS, ge=0, le=3650)

    _base_url = field_validator("base_url")(_url)

    @field_validator("headers")
    @classmethod
    def _plain_headers(cls, value: dict[str, str]) -> dict[str, str]:
        for header in value:
            if looks_secret(header):
                raise ValueError(f"{header} looks like a credential: put it in secret_headers")
        return value

    def build(self, name: str, wiring: Wiring) -> Provider:
        return GenericHttp(
            wiring.http,
            name=name,
            base_url=self.base_url,
            redeem=self.redeem,
            lookup=self.lookup,
            offer=self.offer,
            headers=self.headers,
            secret_headers={k: v.get_secret_value() for k, v in self.secret_headers.items()},
            coupon_id=self.coupon_id,
            remember=self.remember_days * DAY_S,
        )


Account = Annotated[
    PassKitAccount | PassworksAccount | SkycoreAccount | GoogleWalletAccount | HttpAccount,
    Field(discriminator="provider"),
]
PROVIDERS = ("passkit", "passworks", "skycore", "google_wallet", "http")
