"""The one `Settings` class: every knob of the service, read once at start-up.

Values come from keyword arguments (tests), then `RESOLVER_*` environment variables, then a
`.env` file, then files in `RESOLVER_SECRETS_DIR`-style mounted secrets, then the defaults below.
Nothing here is read at import time; `Settings()` is built by the CLI or by `create_app`'s caller.
"""

from __future__ import annotations

import ipaddress
import os
import re
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from resolver.domain.redemptions import (  # noqa: TC001  # pydantic reads it at runtime
    VerificationPolicy,
)
from resolver.domain.signing import LinkKey, parse_keys
from resolver.events import endpoints
from resolver.events.endpoints import Endpoint  # noqa: TC001  # pydantic reads it at runtime
from resolver.providers.regions import PASSKIT_REGIONS
from resolver.redemption.policy import longest_possible_lease
from resolver.storage.ratelimit import parse_limit
from resolver.storage.topologies import parse as parse_redis_url
from resolver.validation import problems

ENV_PREFIX = "RESOLVER_"
# Variables with the prefix that are not settings: read by `load_settings` and by the tests.
OTHER_VARIABLES = frozenset(
    {f"{ENV_PREFIX}SECRETS_DIR", f"{ENV_PREFIX}TEST_REDIS_URL", f"{ENV_PREFIX}FUZZ_EXAMPLES"}
)

HEX_COLOUR = re.compile(r"#(?:[0-9a-fA-F]{3}){1,2}")
LOGO_SUFFIXES = (".svg", ".png", ".webp", ".jpg", ".jpeg", ".gif")
# A logo is part of every page's weight, and every page must stay under 30 KB.
MAX_LOGO_BYTES = 20 * 1024


class Settings(BaseSettings):
    """Configuration of one resolver deployment (see `.env.example` for every variable)."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_file=".env",
        env_file_encoding="utf-8",
        # `RESOLVER_UPSTREAM=` copied blank from .env.example means "unset", not "".
        env_ignore_empty=True,
        extra="ignore",
        frozen=True,
        secrets_dir=None,
    )

    # --- upstream -------------------------------------------------------------------------
    upstream: Literal["passkit", "sandbox", "campaigns"] | None = Field(
        default=None,
        description="passkit | sandbox | campaigns. Unset: campaigns with a campaigns file, "
        "else passkit when credentials are given, else sandbox.",
    )
    # Which back end and account serves each campaign (resolver.campaigns); replaces the
    # single-provider PASSKIT settings below.
    campaigns_file: Path | None = None
    passkit_region: Literal["eu", "us"] = "eu"
    passkit_base_url: str | None = None
    passkit_api_key: str | None = None
    passkit_api_secret: SecretStr | None = None
    passkit_token: SecretStr | None = None
    upstream_connect_timeout: float = Field(default=3.0, gt=0, le=60)
    upstream_timeout: float = Field(default=10.0, gt=0, le=120)
    upstream_max_connections: int = Field(default=200, ge=1, le=10_000)

    # --- redis ----------------------------------------------------------------------------
    redis_url: str | None = None
    redis_max_connections: int = Field(default=200, ge=1, le=10_000)
    redis_timeout: float = Field(default=2.0, gt=0, le=60)
    # Replicas that must acknowledge a claim (WAIT) before it may redeem; unset: 1 with
    # Sentinel, 0 otherwise (a Cluster cannot WAIT through its pipelines: 0 only).
    redis_replica_acks: int | None = Field(default=None, ge=0, le=10)
    redis_replica_ack_timeout: float = Field(default=0.5, gt=0, le=10)

    # --- redemption -----------------------------------------------------------------------
    redeem_mode: Literal["confirm", "instant"] = "confirm"
    duplicate_window: int = Field(default=900, ge=1, le=30 * 86_400)
    negative_window: int = Field(default=30, ge=0, le=86_400)
    coalesce_wait: float = Field(default=5.0, ge=0, le=60)
    form_token_ttl: int = Field(default=600, ge=10, le=86_400)
    receipt_ttl: int = Field(default=3_600, ge=60, le=30 * 86_400)
    offer_cache_ttl: int = Field(default=300, ge=0, le=86_400)

    # --- staff verification ---------------------------------------------------------------
    # off: the confirm button alone; optional: a staff code is checked when given; required.
    # Campaigns may override it in the staff file's [campaigns] table.
    staff_verification: VerificationPolicy = "off"
    staff_file: str | None = None
    staff_max_failures: int = Field(default=5, ge=1, le=100)
    staff_max_failures_per_ip: int = Field(default=20, ge=1, le=10_000)
    staff_lockout_seconds: int = Field(default=900, ge=1, le=86_400)
    staff_code_drift: int = Field(default=1, ge=0, le=10)
    capture_location: bool = False
    # The staff's counter view (/counter/{store}): on whenever a staff file names stores.
    counter_view: bool = True
    counter_session_seconds: int = Field(default=43_200, ge=60, le=7 * 86_400)
    counter_rows: int = Field(default=50, ge=1, le=500)

    # --- screens --------------------------------------------------------------------------
    live_seconds: int = Field(default=120, ge=10, le=3_600)
    # the languages with a catalogue (resolver.web.i18n.LANGUAGES); used when none is negotiated
    default_language: Literal["en", "fr", "de", "es", "nl", "it"] = "en"
    brand_name: str = Field(default="Coupons", min_length=1, max_length=60)
    brand_color: str = "#1f4e8c"
    brand_logo: str | None = None
    support_url: str | None = None

    # --- security -------------------------------------------------------------------------
    api_token: Annotated[tuple[SecretStr, ...], NoDecode] = ()
    secret_key: SecretStr | None = None
    link_keys: Annotated[tuple[LinkKey, ...], NoDecode] = Field(
        default=(), description="kid:secret,... ; with keys set, links must carry kid and sig"
    )

    # Per client network: requests that found no coupon, failed a signature or were refused.
    rate_limit_misses: str = "30/hour"
    rate_limit_coupon: str = "20/minute"
    forwarded_allow_ips: Annotated[tuple[str, ...], NoDecode] = ()
    # Per-client budgets count an IPv6 client by this prefix: one subscriber holds a whole /64.
    client_ipv6_prefix: int = Field(default=64, ge=32, le=128)

    # --- audit trail and outbound events ---------------------------------------------------
    # Entries older than this are trimmed from the trail (rr:audit); 0 keeps no trail at all.
    audit_retention_days: float = Field(default=30, ge=0, le=3_650)
    # Whether entries carry the raw externalId (docs/events.md weighs it): off by default.
    audit_external_ids: bool = False
    webhooks: Annotated[tuple[Endpoint, ...], NoDecode] = ()
    # Seconds before each retry of a failed delivery, after the immediate first try.
    webhook_retry_schedule: Annotated[tuple[float, ...], NoDecode] = (
        5, 300, 1_800, 7_200, 18_000, 36_000, 36_000,
    )  # fmt: skip
    webhook_timeout: float = Field(default=10.0, gt=0, le=60)

    # --- server and logs ------------------------------------------------------------------
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65_535)
    # Coupon requests one worker serves at once; past it they get a fast 503 with Retry-After
    # (resolver.web.backpressure, where the default's measurement is explained).
    max_in_flight: int = Field(default=500, ge=1, le=10_000)
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_format: Literal["auto", "json", "console"] = "auto"

    # --- metrics --------------------------------------------------------------------------
    # Prometheus metrics, recorded only when one of these serves them: a port of their own
    # (never the public one), and/or /metrics on the main port for a bearer of the token.
    metrics_port: int | None = Field(default=None, ge=0, le=65_535)
    metrics_host: str = "127.0.0.1"
    metrics_token: SecretStr | None = None

    @property
    def metrics_enabled(self) -> bool:
        """Whether the service records metrics: only when something serves them."""
        return self.metrics_port is not None or self.metrics_token is not None

    @field_validator("api_token", mode="before")
    @classmethod
    def _split_tokens(cls, value: object) -> object:
        # Several tokens may be valid at once (rotation): "new,old".
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("link_keys", mode="before")
    @classmethod
    def _parse_link_keys(cls, value: object) -> object:
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        return parse_keys(value) if isinstance(value, str) else value

    @field_validator("rate_limit_misses", "rate_limit_coupon")
    @classmethod
    def _rate_limit(cls, value: str) -> str:
        parse_limit(value)  # e.g. "60/minute", "5 per second", or "off"
        return value

    @field_validator("webhooks", mode="before")
    @classmethod
    def _parse_webhooks(cls, value: object) -> object:
        return endpoints.parse(value)

    @field_validator("webhooks")
    @classmethod
    def _unique_webhooks(cls, value: tuple[Endpoint, ...]) -> tuple[Endpoint, ...]:
        return endpoints.unique_names(value)

    @field_validator("webhook_retry_schedule", mode="before")
    @classmethod
    def _split_schedule(cls, value: object) -> object:
        if isinstance(value, str):  # "5,300,1800"
            value = tuple(float(part) for part in value.split(",") if part.strip())
        return value

    @field_validator("webhook_retry_schedule")
    @classmethod
    def _schedule(cls, value: tuple[float, ...]) -> tuple[float, ...]:
        if any(delay < 0 for delay in value):
            raise ValueError("delays must be 0 or more seconds")
        return value

    @field_validator("forwarded_allow_ips", mode="before")
    @classmethod
    def _split_proxies(cls, value: object) -> object:
        if isinstance(value, str):
            value = tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("forwarded_allow_ips")
    @classmethod
    def _proxies(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for proxy in value:
            if proxy != "*":
                ipaddress.ip_network(proxy, strict=False)  # an address or a CIDR network
        return value

    @field_validator(
        "passkit_base_url",
        "redis_url",
        "brand_logo",
        "support_url",
        "staff_file",
        "campaigns_file",
        mode="before",
    )
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("passkit_base_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/") if value else value

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, value: str | None) -> str | None:
        if value is not None:
            parse_redis_url(value)  # raises ValueError saying what is wrong
        return value

    @field_validator("campaigns_file")
    @classmethod
    def _readable_file(cls, value: Path | None) -> Path | None:
        if value is not None and not value.expanduser().is_file():
            raise ValueError(f"{value} is not a readable file")
        return value.expanduser().resolve() if value is not None else None

    @field_validator("brand_name")
    @classmethod
    def _plain_name(cls, value: str) -> str:
        value = " ".join(value.split())
        if not value:
            raise ValueError("must not be blank")
        return value

    @field_validator("brand_color")
    @classmethod
    def _hex_colour(cls, value: str) -> str:
        if not HEX_COLOUR.fullmatch(value):
            raise ValueError("must be a hex colour such as #1f4e8c or #fa0")
        digits = value[1:].lower()
        return "#" + (digits if len(digits) == 6 else "".join(c * 2 for c in digits))

    @field_validator("brand_logo")
    @classmethod
    def _logo(cls, value: str | None) -> str | None:
        if value is None or value.startswith("https://"):
            if value is not None and not urlsplit(value).hostname:
                raise ValueError("an https URL needs a host")
            return value
        if "://" in value:
            raise ValueError("must be an https:// URL or a path to an image file")
        path = Path(value).expanduser()
        if path.suffix.lower() not in LOGO_SUFFIXES:
            raise ValueError(f"must be one of {', '.join(LOGO_SUFFIXES)}")
        if not path.is_file():
            raise ValueError(f"{path} is not a readable file")
        if path.stat().st_size > MAX_LOGO_BYTES:
            raise ValueError(f"is larger than {MAX_LOGO_BYTES // 1024} KB (pages must stay small)")
        return str(path.resolve())

    @field_validator("staff_file")
    @classmethod
    def _staff_file(cls, value: str | None) -> str | None:
        # Read (and checked) at start-up, not here: `resolver staff add-store` creates it.
        return str(Path(value).expanduser()) if value else value

    @field_validator("support_url")
    @classmethod
    def _support_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("https://", "mailto:", "tel:")):
            raise ValueError("must start with https://, mailto: or tel:")
        return value

    @model_validator(mode="after")
    def _credentials(self) -> Settings:
        if (self.passkit_api_key is None) != (self.passkit_api_secret is None):
            raise ValueError(
                "RESOLVER_PASSKIT_API_KEY and RESOLVER_PASSKIT_API_SECRET must be set together"
            )
        if self.campaigns_file is not None:
            if self.upstream not in (None, "campaigns"):
                raise ValueError(
                    "RESOLVER_CAMPAIGNS_FILE is set: RESOLVER_UPSTREAM must be unset or campaigns"
                )
            object.__setattr__(self, "upstream", "campaigns")
        elif self.upstream == "campaigns":
            raise ValueError("RESOLVER_UPSTREAM=campaigns needs RESOLVER_CAMPAIGNS_FILE")
        if self.upstream is None:
            object.__setattr__(self, "upstream", "passkit" if self.has_credentials else "sandbox")
        if self.staff_verification != "off" and self.staff_file is None:
            raise ValueError(
                f"RESOLVER_STAFF_VERIFICATION={self.staff_verification} needs RESOLVER_STAFF_FILE "
                "(the stores and staff who may verify)"
            )
        if self.redis_replica_acks and self.redis_url and self.redis_topology == "cluster":
            raise ValueError("RESOLVER_REDIS_REPLICA_ACKS is not supported with a Redis Cluster")
        if self.webhooks and not self.audit_retention_days:
            raise ValueError(
                "RESOLVER_WEBHOOKS sends the audit trail's events: it needs a trail "
                "(RESOLVER_AUDIT_RETENTION_DAYS above 0)"
            )
        if self.upstream == "passkit" and not self.has_credentials:
            raise ValueError(
                "RESOLVER_UPSTREAM=passkit needs RESOLVER_PASSKIT_API_KEY and "
                "RESOLVER_PASSKIT_API_SECRET, or RESOLVER_PASSKIT_TOKEN"
            )
        return self

    @property
    def redis_topology(self) -> str:
        """standalone, sentinel or cluster: what `redis_url` names."""
        return parse_redis_url(self.redis_url).kind if self.redis_url else "standalone"

    @property
    def replica_acks(self) -> int:
        """How many replicas must acknowledge a claim (the setting, or its topology's default)."""
        if self.redis_replica_acks is not None:
            return self.redis_replica_acks
        return 1 if self.redis_topology == "sentinel" else 0

    @property
    def has_credentials(self) -> bool:
        return self.passkit_token is not None or self.passkit_api_key is not None

    @property
    def passkit_url(self) -> str:
        """The PassKit REST base: the explicit override, else the region's host."""
        return self.passkit_base_url or PASSKIT_REGIONS[self.passkit_region]

    @property
    def exchange_seconds(self) -> float:
        """The longest one upstream call can take: connect (with the transport's two connect
        retries) and then the answer."""
        return self.upstream_connect_timeout * 3 + self.upstream_timeout

    @property
    def longest_lease_seconds(self) -> float:
        """The longest lease any claim can get: what a drain must give a redemption in flight.

        The one place the server's graceful-shutdown timeout reads. A campaigns file may route
        to any back end (and the sandbox's demo routes to every one), so it is the longest any
        back end can need (`resolver.policy`).
        """
        return longest_possible_lease(self.exchange_seconds)


def load_settings(**overrides: Any) -> Settings:
    """Settings from the environment, `.env`, and secret files in `RESOLVER_SECRETS_DIR`.

    A mounted secrets directory (Docker or Kubernetes secrets) holds one file per variable,
    named like the variable (e.g. `RESOLVER_PASSKIT_API_SECRET`), so secrets need not sit in
    the environment. Explicit keyword overrides win over everything.
    """
    secrets_dir = os.environ.get(f"{ENV_PREFIX}SECRETS_DIR") or None
    return Settings(_secrets_dir=secrets_dir, **overrides)


def describe_error(error: ValidationError) -> str:
    """A one-line start-up message that names each bad variable, e.g. `RESOLVER_PORT: ...`."""
    named = []
    for place, message in problems(error):
        field = ".".join(part for part in place if not part.isdigit())
        named.append(f"{ENV_PREFIX}{field.upper()}: {message}" if field else f"settings: {message}")
    return "invalid configuration: " + "; ".join(named)
