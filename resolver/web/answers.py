"""What the JSON API answers, as one typed model that produces both the JSON and the schema the
OpenAPI document serves (`resolver.web.openapi`): the two cannot drift apart.

Every field is always present (`null` when unknown), so a till or a no-code scenario can map
them once. Field names are the API's camelCase; the model's attributes are Python's.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel
from starlette.responses import JSONResponse

from resolver.domain.errors import VerificationFailed, VerificationLocked, VerificationRequired
from resolver.domain.redemptions import Outcome

if TYPE_CHECKING:
    from decimal import Decimal

    from resolver.domain.coupons import Link
    from resolver.domain.redemptions import Attribution, Redemption

# Outcomes of answers that are no redemption's: refusals before anything was claimed.
OTHER_OUTCOMES = (
    "invalid_request",
    "unauthorized",
    "rate_limited",
    "unavailable",
    "internal_error",
    *(error.outcome for error in (VerificationRequired, VerificationFailed, VerificationLocked)),
)


class _Answer(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        frozen=True,
        extra="forbid",
        # a field with a default is still always sent: the schema says so
        json_schema_serialization_defaults_required=True,
    )


class Staff(_Answer):
    """Who verified the redemption at the counter."""

    method: Literal["pin", "store_code"]
    store_id: str
    store_name: str
    employee_id: str | None
    employee_name: str | None

    @classmethod
    def of(cls, attribution: Attribution | None) -> Staff | None:
        if attribution is None:
            return None
        return cls(
            method=attribution.method,
            store_id=attribution.store_id,
            store_name=attribution.store_name,
            employee_id=attribution.employee_id,
            employee_name=attribution.employee_name,
        )


class Result(_Answer):
    """Every answer of `POST /api/v1/redeem`, whatever its status."""

    outcome: str = Field(json_schema_extra={"enum": [*(o.value for o in Outcome), *OTHER_OUTCOMES]})
    campaign_id: str | None = None
    external_id: str | None = None
    coupon_id: str | None = None
    redeemed_at: str | None = Field(
        default=None, json_schema_extra={"format": "date-time"}, description="RFC 3339, in UTC."
    )
    replayed: bool = False
    detail: str = ""
    verified_by: Staff | None = None
    tries_left: int | None = Field(default=None, ge=0)
    reference: str | None = Field(
        default=None,
        description="The back end's own reference for the redemption (e.g. Skycore's tracking "
        "id), when it gives one: what its support asks for.",
    )
    upstream_confirmed: bool | None = Field(
        default=None,
        description="For `redeemed`: whether the back end vouches that this was the coupon's "
        "first use.",
    )
    redeemed_here: bool | None = Field(
        default=None,
        description="For `already_redeemed`: true when this service redeemed it, null when "
        "that is not known.",
    )
    redemption_code: str | None = Field(
        default=None,
        description="The code sent upstream with the redemption (the till's `redemptionCode`), "
        "when there was one.",
    )
    transaction_reference: str | None = Field(
        default=None, description="The till's `transactionReference`, as sent upstream."
    )
    transaction_amount: float | None = Field(
        default=None,
        ge=0,
        description="The till's `transactionAmount`, as sent upstream (at most 2 decimal places).",
    )

    @classmethod
    def of(cls, result: Redemption) -> Result:
        """The answer for a redemption's result."""
        return cls(
            outcome=result.outcome.value,
            campaign_id=result.link.campaign_id,
            external_id=result.link.external_id,
            coupon_id=result.coupon_id,
            redeemed_at=rfc3339(result.redeemed_at),
            replayed=result.replayed,
            detail=result.detail,
            verified_by=Staff.of(result.verified_by),
            reference=result.reference,
            upstream_confirmed=result.confirmed if result.outcome is Outcome.REDEEMED else None,
            redeemed_here=result.redeemed_here,
            redemption_code=result.redemption_code,
            transaction_reference=result.transaction_reference,
            transaction_amount=_number(result.transaction_amount),
        )

    @classmethod
    def refusal(
        cls, outcome: str, link: Link | None, detail: str, tries_left: int | None = None
    ) -> Result:
        """The answer for a request refused before anything was claimed."""
        return cls(
            outcome=outcome,
            campaign_id=link.campaign_id if link else None,
            external_id=link.external_id if link else None,
            detail=detail,
            tries_left=tries_left,
        )

    def response(self, status: int, headers: dict[str, str] | None = None) -> JSONResponse:
        return ResultResponse(self, status_code=status, headers=headers)

    def json_body(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True)


class ResultResponse(JSONResponse):
    """A `Result` as JSON, serialised by pydantic straight to bytes: the same document as
    `json_body` through the standard library's encoder, at a fraction of the CPU."""

    def render(self, content: Any) -> bytes:
        assert isinstance(content, Result)
        return content.model_dump_json(by_alias=True).encode()


def _number(amount: Decimal | None) -> float | None:
    return float(amount) if amount is not None else None


def rfc3339(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def schemas() -> dict[str, Any]:
    """`Result` and what it refers to, as OpenAPI components."""
    schema = Result.model_json_schema(
        by_alias=True, mode="serialization", ref_template="#/components/schemas/{model}"
    )
    definitions = schema.pop("$defs", {})
    return {"Result": schema, **definitions}
