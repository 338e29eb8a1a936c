"""The generic HTTP provider's configuration: request templates, the success rule, the
status-to-outcome map and the read-back mapping (one `[accounts.X]` of the campaigns file).

Templates are plain strings with `{field}` placeholders, filled with the link's fields:

    {campaign_id}  {external_id}   the link
    {source}       the redemption source ("resolver/<version>")
    {reference}    free text about the redemption (store, staff, device), often empty
    {now}          the time of the call, RFC 3339 in UTC

Only those names are allowed (a typo stops start-up), and only whole placeholders are
replaced: link ids are percent-encoded in a path and sent as they are in a query, a header or
a JSON body, never read as template syntax themselves.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal
from urllib.parse import quote

from pydantic import Field, JsonValue, field_validator

from resolver.validation import Strict

FIELDS = frozenset({"campaign_id", "external_id", "source", "reference", "now"})
PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
Outcome = Literal["no_active_coupon", "already_redeemed", "expired", "not_applied"]
# A dotted path into a JSON answer: "status", "coupon.redeemedAt", "items.0.id".
JsonPath = Annotated[str, Field(pattern=r"^[A-Za-z0-9_\-]+(\.[A-Za-z0-9_\-]+)*$")]


class RequestTemplate(Strict):
    """One request: method, path (under the account's base URL), query, headers and JSON body."""

    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"] = "POST"
    path: str = ""
    query: dict[str, str] = Field(default_factory=dict)
    headers: dict[str, str] = Field(default_factory=dict)
    body: JsonValue = None

    @field_validator("path", "query", "headers", "body")
    @classmethod
    def _known_placeholders(cls, value: Any) -> Any:
        for text in _strings(value):
            unknown = sorted(set(PLACEHOLDER.findall(text)) - FIELDS)
            if unknown:
                raise ValueError(
                    f"unknown placeholder(s) {', '.join(unknown)}; use {', '.join(sorted(FIELDS))}"
                )
        return value

    @field_validator("headers")
    @classmethod
    def _no_secret_headers(cls, value: dict[str, str]) -> dict[str, str]:
        for name in value:
            if looks_secret(name):
                raise ValueError(
                    f"header {name} looks like a credential: put it in the account's "
                    'secret_headers as { env = "VAR" } or { file = "NAME" }'
                )
        return value

    def render(self, values: dict[str, str]) -> Rendered:
        """The request for one link: placeholders filled, path segments percent-encoded."""
        return Rendered(
            method=self.method,
            path=fill(self.path, {k: quote(v, safe="") for k, v in values.items()}),
            query={name: fill(text, values) for name, text in self.query.items()},
            headers={name: fill(text, values) for name, text in self.headers.items()},
            body=_fill_json(self.body, values),
        )


class Rendered(Strict):
    """A request template filled for one link."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: JsonValue


class SuccessRule(Strict):
    """When a redeem answer is a success: its status, and optionally its body."""

    status: list[int] = Field(default_factory=lambda: [200, 201, 202, 204])
    # The raw body must contain this text (Make answers "Accepted").
    body_contains: str | None = None
    # Or a JSON field must hold this value (compared case-insensitively).
    json_path: JsonPath | None = None
    json_equals: str | None = None


class RedeemTemplate(RequestTemplate):
    """How to mark a coupon redeemed, and how to read the answer."""

    success: SuccessRule = Field(default_factory=SuccessRule)
    # Statuses the back end documents as a definite answer about the coupon (nothing applied).
    outcomes: dict[int, Outcome] = Field(default_factory=dict)
    # Where a success answer carries the back end's own reference (kept on the receipt).
    reference_path: JsonPath | None = None


class LookupTemplate(RequestTemplate):
    """How to read a coupon back, and where its answer says what became of it."""

    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"] = "GET"
    missing_status: list[int] = Field(default_factory=lambda: [404])
    status_path: JsonPath
    redeemed: list[str]
    void: list[str] = Field(default_factory=list)
    expired: list[str] = Field(default_factory=list)
    # Times: RFC 3339 with an offset, or Unix time in seconds or milliseconds.
    expires_at_path: JsonPath | None = None
    redeemed_at_path: JsonPath | None = None


class StaticOffer(Strict):
    """What the page shows about the offer, when the back end cannot say."""

    title: str = Field(min_length=1, max_length=120)
    details: str = ""
    fine_print: str = ""


def fill(text: str, values: dict[str, str]) -> str:
    """`text` with each `{field}` replaced by its value."""
    return PLACEHOLDER.sub(lambda match: values.get(match.group(1), match.group(0)), text)


def json_at(data: object, path: str) -> object:
    """The value at a dotted path of a JSON answer, or None."""
    for part in path.split("."):
        if isinstance(data, dict):
            data = data.get(part)
        elif isinstance(data, list) and part.isdigit() and int(part) < len(data):
            data = data[int(part)]
        else:
            return None
    return data


def looks_secret(header: str) -> bool:
    """Whether a header name usually carries a credential."""
    name = header.lower()
    return name in ("authorization", "cookie", "proxy-authorization") or any(
        word in name for word in ("key", "token", "secret", "password", "signature")
    )


def _fill_json(value: JsonValue, values: dict[str, str]) -> JsonValue:
    if isinstance(value, str):
        return fill(value, values)
    if isinstance(value, list):
        return [_fill_json(item, values) for item in value]
    if isinstance(value, dict):
        return {key: _fill_json(item, values) for key, item in value.items()}
    return value


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [text for item in value.values() for text in _strings(item)]
    if isinstance(value, list):
        return [text for item in value for text in _strings(item)]
    return []
