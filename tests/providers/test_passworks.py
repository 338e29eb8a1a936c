"""The Passworks provider against the documented v2 shapes: paths, Basic auth, pass
fields, and the 412 `errors` forms."""

from __future__ import annotations

import base64
import json
from typing import TYPE_CHECKING, Any

import httpx
import pytest
import respx

from resolver.domain.coupons import Link
from resolver.domain.errors import (
    UpstreamAuthError,
    UpstreamBadAnswer,
    UpstreamRejected,
    UpstreamTimeout,
    UpstreamUnreachable,
)
from resolver.domain.redemptions import RedeemDetails
from resolver.providers.passworks import Passworks

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

BASE = "https://api.passworks.test"
CAMPAIGN = "5fd663d1-4ed4-4800-8d5a-caea4131358a"
PASS = "2df090c4-c272-41ae-904f-727cfbfbf955"
LINK = Link(CAMPAIGN, PASS)
PASS_PATH = f"/v2/coupons/{CAMPAIGN}/passes/{PASS}"
DETAILS = RedeemDetails(source="resolver/1", reference="till 2")


def documented_pass(**fields: Any) -> dict[str, Any]:
    """The pass the seed shows after `POST /v2/coupons/{campaign_id}/passes`."""
    return {
        "id": PASS,
        "campaign_id": CAMPAIGN,
        "voided": False,
        "serial_number": "22142563-e452-4cfe-825e-650c05a78a5c",
        "redeem_code": "0000001",
        "redeemed_count": 0,
        "barcode": {"format": "qrcode", "message": "0000001", "alt_text": "0000001"},
        "expiration_date": None,
        "primary_fields": [{"key": "offer", "value": "30% off", "label": "Any cat or dog treats"}],
        "created_at": "2015-03-31T18:25:20Z",
        "updated_at": "2015-03-31T18:25:20Z",
        **fields,
    }


@pytest.fixture
async def passworks() -> AsyncIterator[tuple[Passworks, respx.MockRouter]]:
    with respx.mock(base_url=BASE, assert_all_mocked=True, assert_all_called=False) as router:
        async with httpx.AsyncClient() as client:
            provider = Passworks(
                client, name="passworks:a", username="acme", api_key="k3y", base_url=BASE
            )
            yield provider, router


async def test_lookup_gets_the_pass_with_basic_auth(
    passworks: tuple[Passworks, respx.MockRouter],
) -> None:
    """GET /v2/coupons/{campaign}/passes/{pass} with `Authorization: Basic user:key`."""
    provider, router = passworks
    route = router.get(PASS_PATH).respond(200, json=documented_pass())
    coupon = await provider.lookup(LINK)
    sent = route.calls.last.request.headers["authorization"]
    assert sent == "Basic " + base64.b64encode(b"acme:k3y").decode()
    assert coupon is not None
    assert (coupon.id, coupon.status, coupon.offer_id) == (PASS, "UNREDEEMED", CAMPAIGN)
    assert not coupon.invalidated


@pytest.mark.parametrize(
    ("fields", "status", "invalidated"),
    [
        ({"redeemed_count": 1, "voided": True}, "REDEEMED", False),
        ({"redeemed_count": 2}, "REDEEMED", False),
        ({"voided": True}, "UNREDEEMED", True),
    ],
)
async def test_redeemed_count_and_voided_say_what_became_of_the_pass(
    passworks: tuple[Passworks, respx.MockRouter],
    fields: dict[str, Any],
    status: str,
    invalidated: bool,
) -> None:
    """Any redemption means redeemed; a void pass never redeemed was withdrawn."""
    provider, router = passworks
    router.get(PASS_PATH).respond(200, json=documented_pass(**fields))
    coupon = await provider.lookup(LINK)
    assert coupon is not None
    assert (coupon.status, coupon.invalidated) == (status, invalidated)


async def test_a_redeemed_pass_has_no_redemption_time_to_give(
    passworks: tuple[Passworks, respx.MockRouter],
) -> None:
    """The documented pass has none; `updated_at` changes with any edit, so it is no guess."""
    provider, router = passworks
    answer = documented_pass(redeemed_count=1, voided=True, updated_at="2026-03-01T09:05:03Z")
    router.get(PASS_PATH).respond(200, json=answer)
    coupon = await provider.lookup(LINK)
    assert coupon is not None
    assert (coupon.status, coupon.redeemed_at) == ("REDEEMED", None)


async def test_the_expiration_date_is_the_coupons_expiry(
    passworks: tuple[Passworks, respx.MockRouter],
) -> None:
    """`expiration_date` becomes the expiry the pages and the read-back judge by."""
    provider, router = passworks
    router.get(PASS_PATH).respond(200, json=documented_pass(expiration_date="2030-01-02T03:04:05Z"))
    coupon = await provider.lookup(LINK)
    assert coupon is not None
    assert coupon.expiry_date is not None
    assert coupon.expiry_date.isoformat() == "2030-01-02T03:04:05+00:00"


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (412, {"errors": {"campaign": "Campaign not found."}}),
        (412, {"errors": ["Pass not found"]}),
        (404, {}),
    ],
)
async def test_not_found_in_either_form_is_no_coupon(
    passworks: tuple[Passworks, respx.MockRouter], status: int, body: dict[str, Any]
) -> None:
    """A 412 saying "not found", or a 404: None, not an error."""
    provider, router = passworks
    router.get(PASS_PATH).respond(status, json=body)
    assert await provider.lookup(LINK) is None


async def test_another_412_on_lookup_is_a_rejection_naming_the_errors(
    passworks: tuple[Passworks, respx.MockRouter],
) -> None:
    """A precondition failure that is not "not found" is raised with its text."""
    provider, router = passworks
    router.get(PASS_PATH).respond(412, json={"errors": {"pass": "is archived"}})
    with pytest.raises(UpstreamRejected) as raised:
        await provider.lookup(LINK)
    assert (raised.value.status_code, raised.value.message) == (412, "pass: is archived")


async def test_redeem_posts_a_comment_on_the_pass(
    passworks: tuple[Passworks, respx.MockRouter],
) -> None:
    """POST …/passes/{pass}/redeem with `{"pass": {"comment": …}}`; 200 `{"errors": []}` is done."""
    provider, router = passworks
    route = router.post(f"{PASS_PATH}/redeem").respond(200, json={"errors": []})
    answer = await provider.redeem(LINK, DETAILS)
    assert json.loads(route.calls.last.request.content) == {
        "pass": {"comment": "resolver/1 · till 2"}
    }
    assert answer.coupon_id == PASS


async def test_redeem_answering_the_pass_returns_its_id(
    passworks: tuple[Passworks, respx.MockRouter],
) -> None:
    """When the redeem answers with the pass itself, its id is the coupon id."""
    provider, router = passworks
    router.post(f"{PASS_PATH}/redeem").respond(
        200, json=documented_pass(id="p-9", redeemed_count=1)
    )
    assert (await provider.redeem(LINK, DETAILS)).coupon_id == "p-9"


async def test_a_412_list_on_redeem_is_raised_for_the_read_back(
    passworks: tuple[Passworks, respx.MockRouter],
) -> None:
    """The undocumented second redeem: raised as-is; the use case reads the pass back."""
    provider, router = passworks
    router.post(f"{PASS_PATH}/redeem").respond(412, json={"errors": ["Pass already redeemed"]})
    with pytest.raises(UpstreamRejected) as raised:
        await provider.redeem(LINK, DETAILS)
    assert (raised.value.status_code, raised.value.message) == (412, "Pass already redeemed")


async def test_a_success_status_carrying_errors_is_not_a_clean_success(
    passworks: tuple[Passworks, respx.MockRouter],
) -> None:
    """200 with a non-empty `errors`: unclear, so read back rather than trusted."""
    provider, router = passworks
    router.post(f"{PASS_PATH}/redeem").respond(200, json={"errors": ["odd"]})
    with pytest.raises(UpstreamBadAnswer):
        await provider.redeem(LINK, DETAILS)


@pytest.mark.parametrize("status", [401, 403])
async def test_refused_credentials_are_an_auth_error(
    passworks: tuple[Passworks, respx.MockRouter], status: int
) -> None:
    """401/403: nothing was applied."""
    provider, router = passworks
    router.post(f"{PASS_PATH}/redeem").respond(status, text="HTTP Basic: Access denied.")
    with pytest.raises(UpstreamAuthError):
        await provider.redeem(LINK, DETAILS)


async def test_transport_failures_say_whether_the_request_left(
    passworks: tuple[Passworks, respx.MockRouter],
) -> None:
    """A refused connect never left; a read timeout may have been applied."""
    provider, router = passworks
    route = router.post(f"{PASS_PATH}/redeem")
    route.side_effect = httpx.ConnectError("refused")
    with pytest.raises(UpstreamUnreachable):
        await provider.redeem(LINK, DETAILS)
    route.side_effect = httpx.ReadTimeout("slow")
    with pytest.raises(UpstreamTimeout):
        await provider.redeem(LINK, DETAILS)


async def test_the_offer_is_the_campaigns_description_and_primary_fields(
    passworks: tuple[Passworks, respx.MockRouter],
) -> None:
    """GET /v2/coupons/{campaign}: description as title, the primary fields as details."""
    provider, router = passworks
    router.get(f"/v2/coupons/{CAMPAIGN}").respond(
        200,
        json={
            "id": CAMPAIGN,
            "name": "Paw Planet",
            "description": "20% off premium dog food",
            "primary_fields": [
                {"key": "offer", "value": "20% off", "label": "Any premium dog food"}
            ],
            "expiration_date": None,
        },
    )
    offer = await provider.offer(CAMPAIGN)
    assert offer is not None
    assert (offer.title, offer.short_title) == ("20% off premium dog food", "Paw Planet")
    assert offer.details == "20% off Any premium dog food"


async def test_an_unreadable_campaign_is_simply_no_offer(
    passworks: tuple[Passworks, respx.MockRouter],
) -> None:
    """Reading a campaign is undocumented: any refusal but the credentials' is no offer."""
    provider, router = passworks
    router.get(f"/v2/coupons/{CAMPAIGN}").respond(405, text="Method Not Allowed")
    assert await provider.offer(CAMPAIGN) is None
