"""The served OpenAPI document describes what the API really does."""

from __future__ import annotations

import httpx

from resolver.web.api import FAILURE_STATUS, STATUS
from tests.support.answers import FIELDS


async def test_the_document_is_served_and_lists_every_status_the_api_uses(
    client: httpx.AsyncClient,
) -> None:
    """Every status the API can answer is documented, with the result schema."""
    answer = await client.get("/api/v1/openapi.json")
    assert answer.status_code == 200
    document = answer.json()
    assert document["openapi"].startswith("3.1")
    post = document["paths"]["/api/v1/redeem"]["post"]
    used = {*STATUS.values(), *FAILURE_STATUS.values(), 400, 401, 403, 405, 413, 415, 429, 500}
    assert {int(status) for status in post["responses"]} == used
    result = document["components"]["schemas"]["Result"]
    assert set(result["required"]) == FIELDS
    outcomes = result["properties"]["outcome"]["enum"]
    expected = {"rate_limited", "verification_failed", "unconfirmed", "internal_error"}
    assert expected <= set(outcomes)
    assert any(parameter["name"] == "Idempotency-Key" for parameter in post["parameters"])
    assert any(parameter["name"] == "staffCode" for parameter in post["parameters"])
