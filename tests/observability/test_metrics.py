"""The metrics one app records and serves: off unless served, `/metrics` only for its token,
route templates rather than paths, back-end calls by result, Redis failures."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import httpx
import pytest
from resolver_sandbox.embedded import EmbeddedRedis

from resolver.app import create_app
from resolver.domain.coupons import CouponState
from resolver.domain.errors import (
    CouponRefused,
    UpstreamAuthError,
    UpstreamBadAnswer,
    UpstreamConnectionLost,
    UpstreamRejected,
    UpstreamTimeout,
    UpstreamUnreachable,
)
from resolver.observability.upstream import result_of
from resolver.redemption.observer import UNOBSERVED
from tests.conftest import running, serving
from tests.support.metrics import Samples

if TYPE_CHECKING:
    from collections.abc import Callable

    from redis.asyncio import Redis

    from resolver.settings import Settings
    from tests.support.passkit import PassKitDouble

TOKEN = "metrics-token-for-tests"
BEARER = {"authorization": f"Bearer {TOKEN}"}
LINK = {"externalId": "member-1", "campaignId": "camp-1"}


async def scrape(client: httpx.AsyncClient) -> Samples:
    answer = await client.get("/metrics", headers=BEARER)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain; version=")
    return Samples.parse(answer.text)


async def test_no_metrics_are_recorded_or_served_unless_a_setting_serves_them(
    settings: Settings, passkit: PassKitDouble, redis: Redis
) -> None:
    """By default the use case has no observer, and the public port has no /metrics."""
    app = create_app(settings)
    async with serving(app) as services:
        assert services.redemptions.observer is UNOBSERVED
    async with running(create_app(settings)) as client:
        assert (await client.get("/metrics")).status_code == 404


async def test_metrics_on_the_main_port_need_the_token(
    make_settings: Callable[..., Settings], passkit: PassKitDouble, redis: Redis
) -> None:
    """Without the bearer token, or with another, 401; with it, the figures."""
    async with running(create_app(make_settings(metrics_token=TOKEN))) as client:
        assert (await client.get("/metrics")).status_code == 401
        wrong = await client.get("/metrics", headers={"authorization": "Bearer nope"})
        assert wrong.status_code == 401
        assert (await scrape(client)).total("resolver_build_info") == 1.0
        lower = await client.get("/metrics", headers={"authorization": f"bearer {TOKEN}"})
        assert lower.status_code == 200  # the scheme's case does not matter (RFC 9110)


async def test_a_redemption_is_counted_by_route_template_back_end_and_outcome(
    make_settings: Callable[..., Settings], passkit: PassKitDouble, redis: Redis
) -> None:
    """A member's tap, its receipt page and a JSON redeem: labels name templates, never ids."""
    passkit.add("member-1")
    async with running(create_app(make_settings(metrics_token=TOKEN))) as client:
        assert (await client.post("/api/v1/redeem", params=LINK)).status_code == 200
        assert (await client.post("/api/v1/redeem", params=LINK)).status_code == 409
        assert (await client.get("/redeemed/aaaaaaaaaaaaaaaa-bbbbbbbbbbbbbbbb")).status_code == 404
        found = await scrape(client)
    assert found.by("resolver_redemptions_total", "outcome", backend="passkit") == {
        "redeemed": 1.0,
        "already_redeemed": 1.0,
    }
    assert found.by(
        "http_server_request_duration_seconds_count", "http_response_status_code",
        http_route="/api/v1/redeem", http_request_method="POST",
    ) == {"200": 1.0, "409": 1.0}  # fmt: skip
    assert (
        found.total("http_server_request_duration_seconds_count", http_route="/redeemed/{receipt}")
        == 1.0
    )
    assert found.by(
        "resolver_upstream_requests_total", "result", backend="passkit", operation="redeem"
    ) == {"ok": 1.0}
    labels = {value for _, found_labels, _ in found.samples for value in found_labels.values()}
    assert "member-1" not in labels


async def test_an_unclear_redeem_counts_its_read_back_and_its_doubt(
    make_settings: Callable[..., Settings], passkit: PassKitDouble, redis: Redis
) -> None:
    """A 5xx after the redeem was applied, and a read-back that fails: one doubt left."""
    passkit.add("member-1")
    passkit.redeem_fault = "error_after_apply"
    passkit.lookup_fault = "timeout"
    async with running(create_app(make_settings(metrics_token=TOKEN))) as client:
        answer = await client.post("/api/v1/redeem", params=LINK)
        assert answer.json()["outcome"] == "unconfirmed"
        found = await scrape(client)
    assert found.by("resolver_read_backs_total", "result") == {"failed": 1.0}
    assert found.total("resolver_doubts_left_unknown_total", backend="passkit") == 1.0
    assert found.by("resolver_upstream_requests_total", "result", operation="redeem") == {
        "rejected_5xx": 1.0
    }


async def test_redis_failures_are_counted_with_the_unavailable_answers(
    make_settings: Callable[..., Settings], passkit: PassKitDouble
) -> None:
    """Redis gone mid-run: 503 `unavailable`, counted, with the Redis error behind it."""
    with EmbeddedRedis() as server:
        app = create_app(
            make_settings(redis_url=server.url, metrics_token=TOKEN, redis_timeout=0.5)
        )
        async with running(app) as client:
            server.stop()
            answer = await client.post("/api/v1/redeem", params=LINK)
            assert answer.status_code == 503
            found = await scrape(client)
    assert found.total("resolver_unavailable_answers_total") == 1.0
    assert found.total("resolver_redis_errors_total") >= 1.0


@pytest.mark.parametrize(
    ("error", "result"),
    [
        (UpstreamUnreachable("x"), "unreachable"),
        (UpstreamTimeout("x"), "timeout"),
        (UpstreamConnectionLost("x"), "connection_lost"),
        (UpstreamAuthError(401, "x"), "auth_error"),
        (UpstreamRejected(500, "x"), "rejected_5xx"),
        (UpstreamRejected(404, "x"), "rejected_4xx"),
        (UpstreamBadAnswer("x"), "bad_answer"),
        (asyncio.CancelledError(), "abandoned"),
        (ValueError("x"), "error"),
    ],
)
def test_a_failed_back_end_call_is_labelled_by_its_class(error: BaseException, result: str) -> None:
    """The result label follows the failure's class, the most specific first."""
    assert result_of(error) == result


def test_a_refused_coupon_is_a_refusal_not_an_error() -> None:
    """A documented refusal (already redeemed, unknown) is the back end answering."""
    refused = CouponRefused(409, "x", CouponState.ALREADY_REDEEMED)
    assert result_of(refused) == "refused"


async def test_a_redeem_that_never_left_is_an_upstream_error_and_no_doubt(
    make_settings: Callable[..., Settings], passkit: PassKitDouble, redis: Redis
) -> None:
    """A connect error: `upstream_error`, the call counted `unreachable`, no read-back."""
    passkit.add("member-1")
    passkit.redeem_fault = "connect_error"
    async with running(create_app(make_settings(metrics_token=TOKEN))) as client:
        answer = await client.post("/api/v1/redeem", params=LINK)
        assert answer.json()["outcome"] == "upstream_error"
        found = await scrape(client)
    assert found.by("resolver_redemptions_total", "outcome") == {"upstream_error": 1.0}
    assert found.by("resolver_upstream_requests_total", "result", operation="redeem") == {
        "unreachable": 1.0
    }
    assert found.total("resolver_read_backs_total") == 0.0
    assert found.total("resolver_doubts_left_unknown_total") == 0.0
