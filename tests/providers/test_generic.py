"""The generic HTTP provider: request templates, the success rule, the status-to-outcome map and the
read-back mapping, for an in-house API, Badge's upsert and a Make webhook (respx)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import httpx
import pytest
import respx
from pydantic import ValidationError

from resolver.domain.coupons import CouponState, Link
from resolver.domain.errors import (
    CouponRefused,
    UpstreamAuthError,
    UpstreamBadAnswer,
    UpstreamNotApplied,
    UpstreamRejected,
)
from resolver.domain.redemptions import RedeemDetails
from resolver.providers.generic import GenericHttp
from resolver.providers.http_templates import LookupTemplate, RedeemTemplate, StaticOffer

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

BASE = "https://coupons.inhouse.test/api"
LINK = Link("spring", "member/7")
DETAILS = RedeemDetails(source="resolver/1", reference="till 3")

INHOUSE_REDEEM: dict[str, Any] = {
    "method": "POST",
    "path": "/coupons/{campaign_id}/{external_id}/redeem",
    "query": {"by": "{source}"},
    "headers": {"X-Request-Source": "{source}"},
    "body": {"member": "{external_id}", "note": "{reference}", "when": "{now}", "n": 1},
    "success": {"status": [200], "json_path": "status", "json_equals": "redeemed"},
    "outcomes": {
        404: "no_active_coupon",
        409: "already_redeemed",
        410: "expired",
        423: "not_applied",
    },
    "reference_path": "receipt.number",
}
INHOUSE_LOOKUP: dict[str, Any] = {
    "path": "/coupons/{campaign_id}/{external_id}",
    "status_path": "status",
    "redeemed": ["REDEEMED", "used"],
    "void": ["void"],
    "expired": ["expired"],
    "expires_at_path": "expiresAt",
    "redeemed_at_path": "redeemedAt",
}
PATH = "/api/coupons/spring/member%2F7"


@pytest.fixture
async def http() -> AsyncIterator[tuple[httpx.AsyncClient, respx.MockRouter]]:
    with respx.mock(assert_all_mocked=True, assert_all_called=False) as router:
        async with httpx.AsyncClient() as client:
            yield client, router


def inhouse(client: httpx.AsyncClient, *, lookup: bool = True) -> GenericHttp:
    return GenericHttp(
        client,
        name="http:inhouse",
        base_url=BASE,
        redeem=RedeemTemplate.model_validate(INHOUSE_REDEEM),
        lookup=LookupTemplate.model_validate(INHOUSE_LOOKUP) if lookup else None,
        secret_headers={"Authorization": "Bearer s3cret"},
        remember=3600,
    )


async def test_redeem_fills_the_template_with_the_links_fields(
    http: tuple[httpx.AsyncClient, respx.MockRouter],
) -> None:
    """Path segments percent-encoded; query, headers and JSON strings filled as they are."""
    client, router = http
    route = router.post(f"https://coupons.inhouse.test{PATH}/redeem").respond(
        200, json={"status": "Redeemed", "receipt": {"number": "R-77"}}
    )
    answer = await inhouse(client).redeem(LINK, DETAILS)
    request = route.calls.last.request
    assert request.url.params["by"] == "resolver/1"
    assert request.headers["x-request-source"] == "resolver/1"
    assert request.headers["authorization"] == "Bearer s3cret"
    body = json.loads(request.content)
    assert (body["member"], body["note"], body["n"]) == ("member/7", "till 3", 1)
    assert body["when"].endswith("Z")
    assert (answer.coupon_id, answer.reference) == ("member/7", "R-77")


@pytest.mark.parametrize(
    ("status", "state"),
    [
        (404, CouponState.NO_ACTIVE_COUPON),
        (409, CouponState.ALREADY_REDEEMED),
        (410, CouponState.EXPIRED),
    ],
)
async def test_mapped_statuses_are_refusals_naming_the_coupons_state(
    http: tuple[httpx.AsyncClient, respx.MockRouter], status: int, state: CouponState
) -> None:
    """The account's status-to-outcome map turns documented answers into definite outcomes."""
    client, router = http
    router.post(f"https://coupons.inhouse.test{PATH}/redeem").respond(status, json={})
    with pytest.raises(CouponRefused) as raised:
        await inhouse(client).redeem(LINK, DETAILS)
    assert raised.value.state is state


async def test_a_status_mapped_to_not_applied_releases(
    http: tuple[httpx.AsyncClient, respx.MockRouter],
) -> None:
    """`not_applied` (e.g. a 423 "locked, try later"): nothing applied, safe to try again."""
    client, router = http
    router.post(f"https://coupons.inhouse.test{PATH}/redeem").respond(423, text="locked")
    with pytest.raises(UpstreamNotApplied):
        await inhouse(client).redeem(LINK, DETAILS)


async def test_a_success_status_failing_the_success_rule_is_unclear(
    http: tuple[httpx.AsyncClient, respx.MockRouter],
) -> None:
    """200 but `status` is not "redeemed": not trusted, so the use case reads back."""
    client, router = http
    router.post(f"https://coupons.inhouse.test{PATH}/redeem").respond(
        200, json={"status": "pending"}
    )
    with pytest.raises(UpstreamBadAnswer):
        await inhouse(client).redeem(LINK, DETAILS)


@pytest.mark.parametrize(("status", "error"), [(401, UpstreamAuthError), (502, UpstreamRejected)])
async def test_unmapped_failures_are_classified_as_for_every_back_end(
    http: tuple[httpx.AsyncClient, respx.MockRouter], status: int, error: type[Exception]
) -> None:
    """401/403 are the credentials; any other unmapped failure is a rejection to read back."""
    client, router = http
    router.post(f"https://coupons.inhouse.test{PATH}/redeem").respond(status, text="no")
    with pytest.raises(error):
        await inhouse(client).redeem(LINK, DETAILS)


@pytest.mark.parametrize(
    ("answer", "status", "invalidated", "expired"),
    [
        ({"status": "active"}, "UNREDEEMED", False, False),
        ({"status": "USED", "redeemedAt": "2030-01-01T10:00:00Z"}, "REDEEMED", False, False),
        ({"status": "void"}, "UNREDEEMED", True, False),
        ({"status": "expired"}, "UNREDEEMED", False, True),
    ],
)
async def test_the_lookup_maps_the_answer_onto_the_coupon(
    http: tuple[httpx.AsyncClient, respx.MockRouter],
    answer: dict[str, Any],
    status: str,
    invalidated: bool,
    expired: bool,
) -> None:
    """The configured status values (case-insensitive) say redeemed, void or expired."""
    client, router = http
    router.get(f"https://coupons.inhouse.test{PATH}").respond(200, json=answer)
    coupon = await inhouse(client).lookup(LINK)
    assert coupon is not None
    assert (coupon.status, coupon.invalidated, coupon.expired) == (status, invalidated, expired)
    assert coupon.id == "member/7"
    assert (coupon.redeemed_at is not None) == ("redeemedAt" in answer)


@pytest.mark.parametrize(
    "written",
    [
        "2026-03-01T09:05:03Z",
        "2026-03-01T10:05:03+01:00",
        1_772_355_903,  # Unix time in seconds
        1_772_355_903_000,  # and in milliseconds, as JavaScript writes it
    ],
)
async def test_the_redemption_time_is_kept_however_the_api_writes_it(
    http: tuple[httpx.AsyncClient, respx.MockRouter], written: object
) -> None:
    """RFC 3339 with an offset, or Unix time: "already redeemed" can then say when."""
    client, router = http
    answer = {"status": "used", "redeemedAt": written}
    router.get(f"https://coupons.inhouse.test{PATH}").respond(200, json=answer)
    coupon = await inhouse(client).lookup(LINK)
    assert coupon is not None
    assert coupon.redeemed_at == datetime(2026, 3, 1, 9, 5, 3, tzinfo=UTC)


async def test_a_redemption_time_without_an_offset_is_not_guessed(
    http: tuple[httpx.AsyncClient, respx.MockRouter],
) -> None:
    """Its zone is unknown, and a wrong time on the counter's screen is worse than none."""
    client, router = http
    answer = {"status": "used", "redeemedAt": "2026-03-01T09:05:03"}
    router.get(f"https://coupons.inhouse.test{PATH}").respond(200, json=answer)
    coupon = await inhouse(client).lookup(LINK)
    assert coupon is not None
    assert coupon.status == "REDEEMED"
    assert coupon.redeemed_at is None


async def test_a_lookup_status_listed_as_missing_is_no_coupon(
    http: tuple[httpx.AsyncClient, respx.MockRouter],
) -> None:
    """404 by default."""
    client, router = http
    router.get(f"https://coupons.inhouse.test{PATH}").respond(404, json={"error": "no"})
    assert await inhouse(client).lookup(LINK) is None


async def test_a_lookup_answer_without_the_status_is_a_bad_answer(
    http: tuple[httpx.AsyncClient, respx.MockRouter],
) -> None:
    """The read-back must say something, or it settles nothing."""
    client, router = http
    router.get(f"https://coupons.inhouse.test{PATH}").respond(200, json={"state": "?"})
    with pytest.raises(UpstreamBadAnswer):
        await inhouse(client).lookup(LINK)


async def test_with_a_lookup_it_reads_back_and_without_one_it_remembers(
    http: tuple[httpx.AsyncClient, respx.MockRouter],
) -> None:
    """The capabilities follow the configuration."""
    client, _ = http
    assert inhouse(client).capabilities.read_back
    assert inhouse(client).capabilities.remember == 0
    blind = inhouse(client, lookup=False)
    assert not blind.capabilities.read_back
    assert blind.capabilities.remember == 3600


async def test_badge_upserts_a_visible_attribute_and_never_reads(
    http: tuple[httpx.AsyncClient, respx.MockRouter],
) -> None:
    """No lookup: the preview costs no call; the redeem is an idempotent upsert on the child."""
    client, router = http
    upsert = router.post("https://api.badge.test/v0/userPassUpsert").respond(
        200, json={"pass": {"id": "member/7"}}
    )
    badge = GenericHttp(
        client,
        name="http:badge",
        base_url="https://api.badge.test",
        redeem=RedeemTemplate.model_validate(
            {
                "path": "/v0/userPassUpsert",
                "body": {
                    "passTemplateId": "{campaign_id}",
                    "pass": {"id": "{external_id}", "attributes": {"redeemed": "{now}"}},
                },
                "success": {"status": [200]},
            }
        ),
        offer=StaticOffer(title="Free drink"),
        coupon_id="{campaign_id}:{external_id}",
        remember=86_400,
    )
    coupon = await badge.lookup(LINK)
    assert coupon is not None
    assert (coupon.id, coupon.status, coupon.offer_id) == (
        "spring:member/7",
        "UNREDEEMED",
        "configured",
    )
    assert not upsert.called
    answer = await badge.redeem(LINK, DETAILS)
    sent = json.loads(upsert.calls.last.request.content)
    assert (sent["passTemplateId"], sent["pass"]["id"]) == ("spring", "member/7")
    assert answer.coupon_id == "spring:member/7"
    offer = await badge.offer("configured")
    assert offer is not None
    assert offer.title == "Free drink"


async def test_a_make_webhook_is_a_success_only_when_it_says_accepted(
    http: tuple[httpx.AsyncClient, respx.MockRouter],
) -> None:
    """GET with the link in the query and the key header; "Accepted" is the only success."""
    client, router = http
    hook = router.get("https://hook.make.test/abc")
    make = GenericHttp(
        client,
        name="http:make",
        base_url="https://hook.make.test",
        redeem=RedeemTemplate.model_validate(
            {
                "method": "GET",
                "path": "/abc",
                "query": {"externalId": "{external_id}", "campaignId": "{campaign_id}"},
                "success": {"status": [200], "body_contains": "Accepted"},
            }
        ),
        secret_headers={"x-make-apikey": "k"},
    )
    hook.respond(200, text="Accepted")
    await make.redeem(LINK, DETAILS)
    request = hook.calls.last.request
    assert dict(request.url.params) == {"externalId": "member/7", "campaignId": "spring"}
    assert request.headers["x-make-apikey"] == "k"
    hook.respond(200, text="Queue is full.")
    with pytest.raises(UpstreamBadAnswer):
        await make.redeem(LINK, DETAILS)


def test_an_unknown_placeholder_is_refused_at_start_up() -> None:
    """A typo such as {externalId} stops start-up instead of sending it literally."""
    with pytest.raises(ValidationError, match="unknown placeholder"):
        RedeemTemplate.model_validate({"path": "/c/{externalId}"})


def test_a_credential_in_a_plain_header_is_refused() -> None:
    """Authorization, *key*, *token* headers belong in secret_headers, by reference."""
    with pytest.raises(ValidationError, match="looks like a credential"):
        RedeemTemplate.model_validate({"headers": {"X-Api-Key": "abc"}})
