"""The endpoints events are sent to (`RESOLVER_WEBHOOKS`), each with its own secret and filter.

`RESOLVER_WEBHOOKS` is a JSON list; since it holds secrets it may come as a file in
`RESOLVER_SECRETS_DIR` like any other setting:

    [{"name": "crm", "url": "https://crm.example/hooks/coupons",
      "secret": "whsec_...", "events": ["coupon.redeemed"]}]
"""

from __future__ import annotations

import base64
import json
import re
from typing import Annotated

from pydantic import Field, SecretStr, TypeAdapter, field_validator
from standardwebhooks import Webhook

from resolver.events.catalogue import EVENT_TYPES
from resolver.validation import Strict

NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")
ANY = "*"
# The specification's bounds for a secret's size.
MIN_SECRET_BYTES = 24
MAX_SECRET_BYTES = 64


class Endpoint(Strict):
    """One receiver: where events go, the secret they are signed with, which types it wants."""

    name: Annotated[str, Field(description="short name: in dead letters, logs and replays")]
    url: str
    secret: SecretStr
    events: tuple[str, ...] = (ANY,)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not NAME.fullmatch(value):
            raise ValueError("must be 1-40 of a-z, 0-9, - and _, starting with a letter or digit")
        return value

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")):
            raise ValueError("must start with https:// (or http:// on a private network)")
        return value

    @field_validator("secret")
    @classmethod
    def _secret(cls, value: SecretStr) -> SecretStr:
        text = value.get_secret_value()
        if not text.startswith("whsec_"):
            raise ValueError("must be a whsec_ secret (base64 after the prefix)")
        try:
            size = len(base64.b64decode(text.removeprefix("whsec_"), validate=True))
        except ValueError:
            size = 0
        if not MIN_SECRET_BYTES <= size <= MAX_SECRET_BYTES:
            raise ValueError("must be whsec_ followed by the base64 of 24 to 64 random bytes")
        return value

    @field_validator("events")
    @classmethod
    def _events(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [name for name in value if name != ANY and name not in EVENT_TYPES]
        if unknown:
            raise ValueError(f"unknown event type(s) {', '.join(unknown)}")
        return value

    def wants(self, event_type: str) -> bool:
        return ANY in self.events or event_type in self.events

    def signer(self) -> Webhook:
        return Webhook(self.secret.get_secret_value())


ENDPOINTS = TypeAdapter(tuple[Endpoint, ...])


def parse(value: object) -> object:
    """`RESOLVER_WEBHOOKS` as read from the environment (JSON text) into a list of endpoints."""
    if isinstance(value, SecretStr):
        value = value.get_secret_value()
    if isinstance(value, str):
        value = json.loads(value) if value.strip() else []
    return value


def unique_names(endpoints: tuple[Endpoint, ...]) -> tuple[Endpoint, ...]:
    names = [endpoint.name for endpoint in endpoints]
    if len(set(names)) != len(names):
        raise ValueError("endpoint names must be unique")
    return endpoints
