"""The Skycore provider against the documented v3 shapes: one endpoint, `X-Api-Key`,
`action` bodies, Success/Failure answers and their error codes."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import httpx
import pytest
import respx

from resolver.domain.coupons import CouponState, Link
from resolver.domain.errors import (
    CouponRefused,
    UpstreamAuthError,
    UpstreamBadAnswer,
    UpstreamNotApplied,
    UpstreamRejected,
    UpstreamTimeout,
)
from resolver.domain.redemptions import RedeemDetails
from resolver.providers.skycore import Skycore

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

ENDPOINT = "https://skycore.test/API/wallet/v3/acme"
TEMPLATE = "a1b2c3d4e5f6a1b2c3d4e5f6a1b2c3d4"
LINK = Link(TEMPLATE, "rockonrock2020")
DETAILS = RedeemDetails(source="resolver/1")

# The documented getpassdata success answer (trimmed): no pass-status in it.
PASS_DATA = {
    "status": "Success",
    "pass-id": "rockonrock2020",
    "pass-template-id": TEMPLATE,
    "pass-data": {
        "barcode-value": "ASDH678",
        "offer-title": "PIZZA",
        "expiration-timestamp": "2019-02-01T10:46:46+00:00",
    },
}


def failure(code: str, message: str, status: str = "Failure") -> dict[str, Any]:
    return {"status": status, "error-code": code, "error-message": message, "pass-id": "x"}


@pytest.fixture
async def skycore() -> AsyncIterator[tuple[Skycore, respx.Route]]:
    with respx.mock(assert_all_mocked=True, assert_all_called=False) as router:
        route = router.post(ENDPOINT, name="api")
        async with httpx.AsyncClient() as client:
            provider = Skycore(
                client, name="skycore:a", endpoint=ENDPOINT, api_key="Key123", remember=3600
            )
            yield provider, route


def sent(route: respx.Route) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(route.calls.last.request.content)
    return body


async def test_it_looks_before_redeeming_and_remembers_successes(
    skycore: tuple[Skycore, respx.Route],
) -> None:
    """An update applies whatever it is sent, so the pass is read first; and since the
    documented read has no status, successes are remembered as configured."""
    provider, _ = skycore
    assert not provider.capabilities.guards_redeem
    assert provider.capabilities.remember == 3600


async def test_a_pass_without_a_status_is_not_known_to_be_unused(
    skycore: tuple[Skycore, respx.Route],
) -> None:
    """The documented getpassdata answer says nothing of use: the coupon says so."""
    provider, route = skycore
    route.respond(200, json=PASS_DATA)
    coupon = await provider.lookup(LINK)
    assert coupon is not None
    assert not coupon.use_known


async def test_lookup_posts_getpassdata_with_the_api_key(
    skycore: tuple[Skycore, respx.Route],
) -> None:
    """POST {action: getpassdata, pass-id, pass-template-id} with `X-Api-Key`."""
    provider, route = skycore
    route.respond(200, json=PASS_DATA)
    coupon = await provider.lookup(LINK)
    assert route.calls.last.request.headers["x-api-key"] == "Key123"
    assert sent(route) == {
        "action": "getpassdata",
        "pass-id": "rockonrock2020",
        "pass-template-id": TEMPLATE,
    }
    assert coupon is not None
    assert (coupon.id, coupon.status, coupon.offer_id) == ("rockonrock2020", "UNREDEEMED", TEMPLATE)
    assert coupon.expiry_date is not None
    assert coupon.expiry_date.isoformat() == "2019-02-01T10:46:46+00:00"


async def test_a_pass_status_in_the_answer_is_honoured_if_it_ever_comes(
    skycore: tuple[Skycore, respx.Route],
) -> None:
    """Undocumented, so not relied on, but used: a "Redeemed" pass reads as redeemed, and
    its status is then known (a read-back can settle a doubt)."""
    provider, route = skycore
    route.respond(200, json={**PASS_DATA, "pass-data": {"pass-status": "Redeemed"}})
    coupon = await provider.lookup(LINK)
    assert coupon is not None
    assert (coupon.status, coupon.use_known) == ("REDEEMED", True)


@pytest.mark.parametrize("code", ["E808", "E802"])
async def test_an_invalid_pass_or_template_is_no_coupon(
    skycore: tuple[Skycore, respx.Route], code: str
) -> None:
    """The documented FAILURE answers for an unknown pass-id or template: None."""
    provider, route = skycore
    route.respond(200, json=failure(code, "The pass-id value is invalid.", status="FAILURE"))
    assert await provider.lookup(LINK) is None


async def test_redeem_updates_the_pass_status_and_keeps_the_tracking_id(
    skycore: tuple[Skycore, respx.Route],
) -> None:
    """updatepassdata with pass-status redeemed, priority, no new pass id; the tracking id kept."""
    provider, route = skycore
    route.respond(
        200, json={"status": "Success", "pass-id": "rockonrock2020", "tracking-id": "T-42"}
    )
    answer = await provider.redeem(LINK, DETAILS)
    assert sent(route) == {
        "action": "updatepassdata",
        "pass-id": "rockonrock2020",
        "pass-template-id": TEMPLATE,
        "priority": True,
        "pass-data": {"pass-status": "redeemed"},
    }
    assert (answer.coupon_id, answer.reference) == ("rockonrock2020", "T-42")


@pytest.mark.parametrize("spelling", ["Success", "SUCCESS", "success"])
async def test_status_is_compared_case_insensitively(
    skycore: tuple[Skycore, respx.Route], spelling: str
) -> None:
    """The docs spell it both ways."""
    provider, route = skycore
    route.respond(200, json={"status": spelling, "tracking-id": "T-1"})
    assert (await provider.redeem(LINK, DETAILS)).reference == "T-1"


async def test_e808_on_redeem_is_a_refusal_naming_no_active_coupon(
    skycore: tuple[Skycore, respx.Route],
) -> None:
    """The pass-id is invalid: settled as no active coupon, no read-back needed."""
    provider, route = skycore
    route.respond(200, json=failure("E808", "The pass-id value is invalid.", status="FAILURE"))
    with pytest.raises(CouponRefused) as raised:
        await provider.redeem(LINK, DETAILS)
    assert raised.value.state is CouponState.NO_ACTIVE_COUPON


async def test_e809_says_nothing_was_applied(skycore: tuple[Skycore, respx.Route]) -> None:
    """ "Internal Error. The pass was not updated.": released for the next tap."""
    provider, route = skycore
    route.respond(200, json=failure("E809", "Internal Error. The pass was not updated."))
    with pytest.raises(UpstreamNotApplied) as raised:
        await provider.redeem(LINK, DETAILS)
    assert "E809" in raised.value.message


async def test_a_lost_answer_stays_unclear(skycore: tuple[Skycore, respx.Route]) -> None:
    """A timeout, or a proxy's 502 with no Skycore body: the update may have been queued."""
    provider, route = skycore
    route.side_effect = httpx.ReadTimeout("slow")
    with pytest.raises(UpstreamTimeout):
        await provider.redeem(LINK, DETAILS)
    route.side_effect = None
    route.respond(502, text="Bad Gateway")
    with pytest.raises(UpstreamRejected) as raised:
        await provider.redeem(LINK, DETAILS)
    assert not isinstance(raised.value, UpstreamNotApplied | CouponRefused)


async def test_a_success_status_without_a_body_status_is_a_bad_answer(
    skycore: tuple[Skycore, respx.Route],
) -> None:
    """200 with neither Success nor Failure: unclear."""
    provider, route = skycore
    route.respond(200, text="<html>maintenance</html>")
    with pytest.raises(UpstreamBadAnswer):
        await provider.redeem(LINK, DETAILS)


async def test_a_refused_api_key_is_an_auth_error(skycore: tuple[Skycore, respx.Route]) -> None:
    """401/403 (undocumented, but what a gateway answers): nothing applied."""
    provider, route = skycore
    route.respond(401, text="Unauthorized")
    with pytest.raises(UpstreamAuthError):
        await provider.redeem(LINK, DETAILS)


async def test_the_offer_is_the_pass_templates_texts(skycore: tuple[Skycore, respx.Route]) -> None:
    """getpasstemplate: offer-title, offer-details and offer-terms."""
    provider, route = skycore
    route.respond(
        200,
        json={
            "status": "Success",
            "pass-template-id": TEMPLATE,
            "pass-template": {
                "pass-name": "Coupon 24-12",
                "offer-title": "Free pizza slice",
                "offer-details": "coupon gets expired after two days",
                "offer-terms": "One per customer.",
            },
        },
    )
    offer = await provider.offer(TEMPLATE)
    assert sent(route) == {"action": "getpasstemplate", "pass-template-id": TEMPLATE}
    assert offer is not None
    assert (offer.title, offer.details, offer.fine_print) == (
        "Free pizza slice",
        "coupon gets expired after two days",
        "One per customer.",
    )
