"""One canonical JSON log line per request, request ids, security headers, nothing secret logged."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from resolver.app import create_app
from tests.conftest import running

if TYPE_CHECKING:
    from collections.abc import Callable

    import httpx
    import pytest
    from redis.asyncio import Redis

    from resolver.settings import Settings
    from tests.support.passkit import PassKitDouble

LINK = {"externalId": "Member-Raw-Id-77", "campaignId": "Campaign-Raw-Id-88"}


def log_lines(text: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


async def test_each_request_logs_one_canonical_line_without_raw_ids_or_secrets(
    make_settings: Callable[..., Settings],
    passkit: PassKitDouble,
    redis: Redis,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """method, route, status, outcome, duration_ms, request_id and a keyed coupon hash."""
    passkit.add("Member-Raw-Id-77", "Campaign-Raw-Id-88")
    settings = make_settings(api_token="api-token-value")
    async with running(create_app(settings)) as client:
        page = await client.get("/redeem", params=LINK)
        answer = await client.post(
            "/api/v1/redeem",
            params=LINK,
            headers={"authorization": "Bearer api-token-value", "x-request-id": "req-42"},
        )
    assert page.status_code == 200
    assert answer.status_code == 200
    output = capsys.readouterr().err
    requests = [line for line in log_lines(output) if line["event"] == "request"]
    assert len(requests) == 2
    api_line = requests[1]
    assert api_line["method"] == "POST"
    assert api_line["route"] == "/api/v1/redeem"
    assert api_line["status"] == 200
    assert api_line["outcome"] == "redeemed"
    assert api_line["request_id"] == "req-42"
    assert isinstance(api_line["duration_ms"], float)
    assert len(str(api_line["coupon"])) == 16
    for secret in (*LINK.values(), "api-token-value", "test-secret-of-at-least-32-bytes!"):
        assert secret not in output


async def test_security_headers_are_on_every_response(
    client: httpx.AsyncClient, passkit: PassKitDouble
) -> None:
    """CSP, nosniff, frame denial, no-referrer, no-store and a request id."""
    for path in ("/redeem?externalId=a&campaignId=b", "/healthz", "/nope", "/api/v1/redeem"):
        answer = await client.get(path)
        headers = answer.headers
        assert "default-src 'none'" in headers["content-security-policy"]
        assert "frame-ancestors 'none'" in headers["content-security-policy"]
        assert (
            "script-src 'self'; style-src 'self'; img-src 'self';"
            in headers["content-security-policy"]
        )
        assert "unsafe" not in headers["content-security-policy"]
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["x-frame-options"] == "DENY"
        assert headers["referrer-policy"] == "no-referrer"
        assert headers["cache-control"] == "no-store"
        assert len(headers["x-request-id"]) == 32


async def test_a_bad_request_id_is_replaced(client: httpx.AsyncClient) -> None:
    """Only a short, plain X-Request-ID is echoed; anything else gets a fresh one."""
    answer = await client.get("/healthz", headers={"x-request-id": "bad id <with> spaces"})
    assert len(answer.headers["x-request-id"]) == 32


async def test_hsts_is_sent_over_https_only(
    make_settings: Callable[..., Settings], passkit: PassKitDouble, redis: Redis
) -> None:
    """Strict-Transport-Security on https responses, never on plain http."""
    async with running(create_app(make_settings())) as client:
        plain = await client.get("/healthz")
        secure = await client.get("https://resolver.test/healthz")
    assert "strict-transport-security" not in plain.headers
    assert secure.headers["strict-transport-security"].startswith("max-age=31536000")
