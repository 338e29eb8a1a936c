"""With RESOLVER_LINK_KEYS set, only signed links work, and forgeries look like no coupon."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import httpx
import pytest
from redis.asyncio import Redis

from resolver.app import create_app
from resolver.domain.coupons import Link
from resolver.domain.signing import LinkKey, sign
from resolver.settings import Settings
from tests.conftest import running
from tests.support.pages import form_of
from tests.support.passkit import PassKitDouble

NEW = LinkKey("k2", b"new-link-secret-0123")
OLD = LinkKey("k1", b"old-link-secret-0123")
LINK = Link("camp-1", "member-1")
PARAMS = {"externalId": "member-1", "campaignId": "camp-1"}


@pytest.fixture
async def client(
    make_settings: Callable[..., Settings], passkit: PassKitDouble, redis: Redis
) -> AsyncIterator[httpx.AsyncClient]:
    settings = make_settings(link_keys="k2:new-link-secret-0123,k1:old-link-secret-0123")
    async with running(create_app(settings)) as client:
        yield client


@pytest.mark.parametrize("key", [NEW, OLD], ids=["current-key", "rotated-key"])
async def test_signed_links_work_with_any_configured_key(
    client: httpx.AsyncClient, passkit: PassKitDouble, key: LinkKey
) -> None:
    """Page and API accept a link signed with the new or the still-accepted old key."""
    passkit.add("member-1")
    page = await client.get("/redeem", params=PARAMS | sign(key, LINK))
    assert page.status_code == 200
    assert "Redeem now" in page.text
    answer = await client.post("/api/v1/redeem", params=PARAMS | sign(key, LINK))
    assert answer.json()["outcome"] == "redeemed"


@pytest.mark.parametrize(
    "extra",
    [
        {},
        {"kid": "k2"},
        {"kid": "k2", "sig": "AAAAAAAAAAAAAAAAAAAAAA"},
        {"kid": "k9", "sig": sign(NEW, LINK)["sig"]},
        {"kid": "k2", "sig": sign(NEW, Link("camp-1", "member-2"))["sig"]},
    ],
    ids=["missing", "no-sig", "forged", "unknown-kid", "other-members-sig"],
)
async def test_missing_or_wrong_signatures_look_like_an_unknown_coupon(
    client: httpx.AsyncClient, passkit: PassKitDouble, extra: dict[str, str]
) -> None:
    """Same 404 page and JSON as a coupon that does not exist, and no upstream call."""
    passkit.add("member-1")
    page = await client.get("/redeem", params=PARAMS | extra)
    answer = await client.post("/api/v1/redeem", params=PARAMS | extra)
    assert passkit.calls == 0
    unknown = {"externalId": "nobody", "campaignId": "camp-1"}
    unknown_page = await client.get("/redeem", params=unknown | sign(NEW, Link("camp-1", "nobody")))
    assert page.status_code == unknown_page.status_code == 404
    assert page.text == unknown_page.text
    assert answer.status_code == 404
    assert answer.json() == {
        "outcome": "no_active_coupon",
        "campaignId": "camp-1",
        "externalId": "member-1",
        "couponId": None,
        "redeemedAt": None,
        "replayed": False,
        "detail": "There is no active coupon for this link.",
        "verifiedBy": None,
        "triesLeft": None,
        "reference": None,
        "upstreamConfirmed": None,
        "redeemedHere": None,
        "redemptionCode": None,
        "transactionReference": None,
        "transactionAmount": None,
    }


async def test_the_confirm_form_carries_the_signature_on(
    client: httpx.AsyncClient, passkit: PassKitDouble
) -> None:
    """The POST is verified like the GET: the form sends kid and sig, and redeems."""
    passkit.add("member-1")
    fields = form_of(await client.get("/redeem", params=PARAMS | sign(NEW, LINK)))
    assert (fields["kid"], fields["sig"]) == (NEW.kid, sign(NEW, LINK)["sig"])
    answer = await client.post("/redeem", data=fields)
    assert answer.status_code == 303
    assert passkit.redeem_calls == 1


async def test_a_post_without_a_signature_is_an_unknown_coupon_even_with_a_token(
    client: httpx.AsyncClient, passkit: PassKitDouble
) -> None:
    """A valid token does not stand in for the signature: 404 like any unknown coupon."""
    passkit.add("member-1")
    fields = form_of(await client.get("/redeem", params=PARAMS | sign(NEW, LINK)))
    answer = await client.post("/redeem", data={"token": fields["token"], **PARAMS})
    assert answer.status_code == 404
    assert passkit.redeem_calls == 0


async def test_the_retry_link_after_an_outage_is_signed(
    client: httpx.AsyncClient, passkit: PassKitDouble
) -> None:
    """A "try again" link the service prints must itself work."""
    passkit.add("member-1")
    fields = form_of(await client.get("/redeem", params=PARAMS | sign(NEW, LINK)))
    passkit.redeem_fault = "connect_error"
    answer = await client.post("/redeem", data=fields)
    shown = await client.get(answer.headers["location"])
    assert f"sig={sign(NEW, LINK)['sig']}" in shown.text
