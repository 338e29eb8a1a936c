"""The JSON API's OpenAPI 3.1 document, served at /api/v1/openapi.json.

Built from what the API itself uses: the answer's model (`resolver.web.answers`), the status
codes and the id alphabet, so the document cannot drift from the behaviour; schemathesis checks
the two against each other.
"""

from __future__ import annotations

from functools import cache
from importlib.metadata import version
from typing import TYPE_CHECKING, Any

from starlette.responses import JSONResponse
from starlette.routing import Route

from resolver.domain.ids import ID_PATTERN, MAX_ID_LENGTH
from resolver.web.answers import schemas
from resolver.web.staff import STAFF_CODE
from resolver.web.till import (
    AMOUNT,
    MAX_CODE,
    MAX_REFERENCE,
    REDEMPTION_CODE,
    TRANSACTION_AMOUNT,
    TRANSACTION_REFERENCE,
)

if TYPE_CHECKING:
    from starlette.requests import Request

RESPONSES = {
    "200": "`redeemed`; `replayed: true` when this answers a repeat of the same "
    "Idempotency-Key; `upstreamConfirmed: false` when the back end cannot vouch that it was "
    "the coupon's first use",
    "400": "`invalid_request`: `detail` says what is wrong; nothing was sent upstream",
    "401": "`unauthorized`: an API token is configured and none valid was sent",
    "403": "`verification_required`: the campaign requires a staff code and none was sent; "
    "`verification_failed`: the staff code is wrong (`triesLeft` says how many remain). "
    "Nothing was claimed or sent upstream",
    "404": "`no_active_coupon` (also for a missing or wrong link signature)",
    "405": "`invalid_request`: HEAD, or GET outside instant mode, or GET from a non-person",
    "409": "`already_redeemed` (`redeemedHere` says whether this service redeemed it, "
    "null when unknown), or `in_progress` (with Retry-After), or `offer_unavailable`: the "
    "offer is switched off or not open yet, nothing was redeemed",
    "410": "`expired`",
    "413": "`invalid_request`: the body is larger than 8 KiB",
    "415": "`invalid_request`: the body is neither JSON nor a urlencoded form",
    "429": "`rate_limited`, or `verification_locked`: too many wrong staff codes for this "
    "coupon or from this client (both with Retry-After)",
    "500": "`internal_error`: an unexpected failure here; trying again is safe, and the "
    "X-Request-ID response header names it for support",
    "502": "`upstream_error`: the coupon service refused or applied nothing; or "
    "`unconfirmed`: it answered unclearly, the redemption may have gone through, and the next "
    "request reads the coupon back first",
    "503": "`upstream_error` (unreachable) or `unavailable` (Redis down, or this worker "
    "already serves its most requests at once; with Retry-After)",
    "504": "`unconfirmed`: the coupon service did not answer in time; the redemption may "
    "have gone through, and the next request reads the coupon back first",
}
RETRY_AFTER = {"409", "429", "502", "503", "504"}


def _id(name: str, where: str) -> dict[str, Any]:
    return {
        "type": "string",
        "minLength": 1,
        "maxLength": MAX_ID_LENGTH,
        "pattern": f"^{ID_PATTERN.pattern}$",
        "description": f"The {name} {where}.",
    }


@cache
def document() -> dict[str, Any]:
    link_fields = {
        "externalId": _id("member's pass id", "(the coupon's externalId)"),
        "campaignId": _id("coupon campaign", "id"),
        "kid": {"type": "string", "description": "Signing key id (signed links)."},
        "sig": {"type": "string", "description": "Link signature (signed links)."},
        STAFF_CODE: {
            "type": "string",
            "description": "A staff member's PIN or the store's current code, when the "
            "campaign asks for staff verification (ignored when it does not).",
        },
        REDEMPTION_CODE: {
            "type": "string",
            "maxLength": MAX_CODE,
            "description": "The code used at the till, sent upstream as `redemptionCode`.",
        },
        TRANSACTION_REFERENCE: {
            "type": "string",
            "maxLength": MAX_REFERENCE,
            "description": "The till's transaction reference, sent upstream.",
        },
        TRANSACTION_AMOUNT: {
            "type": "string",
            "pattern": f"^{AMOUNT.pattern}$",
            "description": "The transaction's amount: a decimal ≥ 0 with at most 2 places.",
        },
    }
    link_body = {"type": "object", "properties": link_fields}
    # No-code tools send all-digit ids and codes as JSON numbers: integers are read as their
    # digits (a staff code with leading zeros must still be a string).
    json_body: dict[str, Any] = {
        "type": "object",
        "properties": {
            name: {"anyOf": [schema, {"type": "integer"}], "description": schema["description"]}
            for name, schema in link_fields.items()
        },
    }
    # An amount may come as a JSON number too, fraction included.
    json_body["properties"][TRANSACTION_AMOUNT]["anyOf"][1] = {"type": "number", "minimum": 0}
    parameters = [
        {"name": name, "in": "query", "required": False, "schema": schema}
        for name, schema in link_fields.items()
    ]
    parameters.append(
        {
            "name": "Idempotency-Key",
            "in": "header",
            "required": False,
            "description": "Names the request: a repeat with the same key gets the same answer.",
            "schema": {"type": "string", "pattern": "^[\\x21-\\x7e]{1,255}$"},
        }
    )
    responses = {
        status: {
            "description": description,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Result"}}},
            **(
                {"headers": {"Retry-After": {"schema": {"type": "string", "pattern": "^[0-9]+$"}}}}
                if status in RETRY_AFTER
                else {}
            ),
        }
        for status, description in RESPONSES.items()
    }
    security: list[dict[str, list[str]]] = [{}, {"bearer": []}, {"makeApiKey": []}]
    redeem = {
        "summary": "Redeem the coupon a permanent link names, at most once",
        "description": (
            "Give externalId and campaignId in the query string, a JSON body or a form body "
            "(the same field in two places must agree). One upstream call, and the true outcome."
        ),
        "parameters": parameters,
        "requestBody": {
            "required": False,
            "content": {
                "application/json": {"schema": json_body},
                "application/x-www-form-urlencoded": {"schema": link_body},
            },
        },
        "security": security,
        "responses": responses,
    }
    instant = {name: value for name, value in redeem.items() if name != "requestBody"} | {
        "summary": "Redeem with a GET (only with RESOLVER_REDEEM_MODE=instant)",
        "description": "As POST, for pass links pointing here; refused (405) outside instant "
        "mode and for previews, scanners and prefetches.",
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "resolver",
            "version": version("resolver"),
            "description": "Redeems the active wallet-pass coupon behind a permanent pass link.",
        },
        "paths": {"/api/v1/redeem": {"post": redeem, "get": instant}},
        "components": {
            "schemas": schemas(),
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "makeApiKey": {"type": "apiKey", "in": "header", "name": "x-make-apikey"},
            },
        },
    }


async def openapi(request: Request) -> JSONResponse:
    """The document itself."""
    return JSONResponse(document())


routes = [Route("/api/v1/openapi.json", openapi, methods=["GET"])]
