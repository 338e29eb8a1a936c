"""The Google Wallet provider and its service-account auth, against respx doubles of Google's token
endpoint and the Wallet objects API (documented shapes; no network), with a real Redis."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

import httpx
import jwt
import pytest
import respx

from resolver.domain.coupons import CouponState, Link, coupon_state
from resolver.domain.errors import (
    CouponRefused,
    UpstreamAuthError,
    UpstreamRejected,
    UpstreamUnreachable,
)
from resolver.domain.redemptions import RedeemDetails
from resolver.providers.google_auth import SCOPE, GoogleServiceAccountAuth
from resolver.providers.google_wallet import GoogleWallet
from resolver.storage.token_cache import SharedTokens
from tests.support.google import TEST_ACCOUNT, public_key, service_account_info

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable

    from redis.asyncio import Redis

TOKEN_URI = "https://oauth2.test/token"
API = "https://wallet.test/walletobjects/v1"
ISSUER = "3388000000022000001"
LINK = Link("summer-offers", "member-1")
OBJECT = f"{API}/offerObject/{ISSUER}.member-1"
DETAILS = RedeemDetails(source="resolver/1")


def wallet_object(state: str = "ACTIVE", **fields: Any) -> dict[str, Any]:
    """An offer object as the Wallet API returns it (the fields that matter)."""
    return {
        "kind": "walletobjects#offerObject",
        "id": f"{ISSUER}.member-1",
        "classId": f"{ISSUER}.summer-offers",
        "state": state,
        **fields,
    }


def grant(request: httpx.Request) -> httpx.Response:
    """Google's token endpoint: a valid jwt-bearer grant for our account gets a token."""
    form = {k: v[0] for k, v in parse_qs(request.content.decode()).items()}
    assert form["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer"
    claims = jwt.decode(
        form["assertion"],
        public_key(),
        algorithms=["RS256"],
        audience="https://oauth2.googleapis.com/token",
    )
    assert (claims["iss"], claims["scope"]) == (TEST_ACCOUNT, SCOPE)
    return httpx.Response(200, json={"access_token": "ya29.one", "expires_in": 3599})


@pytest.fixture
async def google(
    redis: Redis,
) -> AsyncIterator[tuple[Callable[..., GoogleWallet], respx.MockRouter]]:
    with respx.mock(assert_all_mocked=True, assert_all_called=False) as router:
        router.post(TOKEN_URI, name="token").mock(side_effect=grant)
        async with httpx.AsyncClient() as client:

            def make(object_type: str = "offer") -> GoogleWallet:
                auth = GoogleServiceAccountAuth(
                    service_account_info(TOKEN_URI),
                    client=client,
                    tokens=SharedTokens(redis),
                    name="google_wallet:test",
                )
                return GoogleWallet(
                    client,
                    name="google_wallet:test",
                    issuer_id=ISSUER,
                    auth=auth,
                    object_type="generic" if object_type == "generic" else "offer",
                    base_url=API,
                )

            yield make, router


async def test_lookup_reads_the_object_with_a_service_account_token(
    google: tuple[Callable[..., GoogleWallet], respx.MockRouter],
) -> None:
    """GET offerObject/{issuer.suffix} with the Bearer token the token endpoint granted."""
    make, router = google
    route = router.get(OBJECT).respond(200, json=wallet_object())
    coupon = await make().lookup(LINK)
    assert route.calls.last.request.headers["authorization"] == "Bearer ya29.one"
    assert coupon is not None
    assert (coupon.id, coupon.status, coupon.offer_id) == (
        f"{ISSUER}.member-1",
        "UNREDEEMED",
        f"{ISSUER}.summer-offers",
    )


async def test_one_token_serves_every_call_and_every_replica(
    google: tuple[Callable[..., GoogleWallet], respx.MockRouter],
) -> None:
    """Two providers (two replicas' worth) and three calls: one token request."""
    make, router = google
    router.get(OBJECT).respond(200, json=wallet_object())
    first, second = make(), make()
    for provider in (first, second, first):
        await provider.lookup(LINK)
    assert router.routes["token"].call_count == 1


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        ("ACTIVE", CouponState.REDEEMABLE),
        ("COMPLETED", CouponState.ALREADY_REDEEMED),
        ("completed", CouponState.ALREADY_REDEEMED),
        ("EXPIRED", CouponState.EXPIRED),
        ("INACTIVE", CouponState.NO_ACTIVE_COUPON),
    ],
)
async def test_the_objects_state_says_what_became_of_the_coupon(
    google: tuple[Callable[..., GoogleWallet], respx.MockRouter],
    state: str,
    expected: CouponState,
) -> None:
    """ACTIVE · COMPLETED · EXPIRED · INACTIVE, in either case."""
    make, router = google
    router.get(OBJECT).respond(200, json=wallet_object(state))
    assert coupon_state(await make().lookup(LINK), None, datetime.now(UTC)) is expected


async def test_a_completed_object_has_no_redemption_time_to_give(
    google: tuple[Callable[..., GoogleWallet], respx.MockRouter],
) -> None:
    """Wallet objects carry no such field: "already redeemed" cannot say when."""
    make, router = google
    router.get(OBJECT).respond(200, json=wallet_object("COMPLETED"))
    coupon = await make().lookup(LINK)
    assert coupon is not None
    assert (coupon.status, coupon.redeemed_at) == ("REDEEMED", None)


async def test_an_object_of_another_class_is_no_coupon_of_this_link(
    google: tuple[Callable[..., GoogleWallet], respx.MockRouter],
) -> None:
    """The link's campaign is the class: an object of another class does not answer it."""
    make, router = google
    router.get(OBJECT).respond(200, json=wallet_object(classId=f"{ISSUER}.other"))
    assert await make().lookup(LINK) is None


async def test_a_missing_object_is_no_coupon(
    google: tuple[Callable[..., GoogleWallet], respx.MockRouter],
) -> None:
    """Google's 404 error body: None."""
    make, router = google
    router.get(OBJECT).respond(
        404, json={"error": {"code": 404, "message": "not found", "status": "NOT_FOUND"}}
    )
    assert await make().lookup(LINK) is None


async def test_redeem_patches_an_active_object_to_completed(
    google: tuple[Callable[..., GoogleWallet], respx.MockRouter],
) -> None:
    """The object is read, then PATCHed with {"state": "COMPLETED"}."""
    make, router = google
    router.get(OBJECT).respond(200, json=wallet_object())
    patch = router.patch(OBJECT).respond(200, json=wallet_object("COMPLETED"))
    answer = await make().redeem(LINK, DETAILS)
    assert json.loads(patch.calls.last.request.content) == {"state": "COMPLETED"}
    assert answer.coupon_id == f"{ISSUER}.member-1"


async def test_an_object_already_completed_is_refused_without_a_patch(
    google: tuple[Callable[..., GoogleWallet], respx.MockRouter],
) -> None:
    """Google would accept the PATCH again; the provider refuses instead, naming the state."""
    make, router = google
    router.get(OBJECT).respond(200, json=wallet_object("COMPLETED"))
    patch = router.patch(OBJECT)
    with pytest.raises(CouponRefused) as raised:
        await make().redeem(LINK, DETAILS)
    assert raised.value.state is CouponState.ALREADY_REDEEMED
    assert not patch.called


async def test_a_patch_error_is_raised_with_googles_message(
    google: tuple[Callable[..., GoogleWallet], respx.MockRouter],
) -> None:
    """`{"error": {"message": …}}` becomes the rejection's message; the use case reads back."""
    make, router = google
    router.get(OBJECT).respond(200, json=wallet_object())
    router.patch(OBJECT).respond(
        500, json={"error": {"code": 500, "message": "Internal error", "status": "INTERNAL"}}
    )
    with pytest.raises(UpstreamRejected) as raised:
        await make().redeem(LINK, DETAILS)
    assert (raised.value.status_code, raised.value.message) == (500, "Internal error")


async def test_a_refused_token_is_forgotten_so_the_next_call_gets_a_new_one(
    google: tuple[Callable[..., GoogleWallet], respx.MockRouter],
) -> None:
    """401: an auth error now, and a fresh token for the next call (no retry in between)."""
    make, router = google
    route = router.get(OBJECT)
    route.respond(
        401, json={"error": {"code": 401, "message": "bad token", "status": "UNAUTHENTICATED"}}
    )
    provider = make()
    with pytest.raises(UpstreamAuthError):
        await provider.lookup(LINK)
    route.respond(200, json=wallet_object())
    await provider.lookup(LINK)
    assert router.routes["token"].call_count == 2


async def test_a_refused_service_account_is_an_auth_error_before_any_api_call(
    google: tuple[Callable[..., GoogleWallet], respx.MockRouter],
) -> None:
    """invalid_grant at the token endpoint: UpstreamAuthError, and the object is never asked."""
    make, router = google
    router.routes["token"].side_effect = None
    router.routes["token"].respond(
        400, json={"error": "invalid_grant", "error_description": "Invalid JWT Signature."}
    )
    api = router.get(OBJECT)
    with pytest.raises(UpstreamAuthError):
        await make().redeem(LINK, DETAILS)
    assert not api.called


async def test_an_unreachable_token_endpoint_means_nothing_was_sent(
    google: tuple[Callable[..., GoogleWallet], respx.MockRouter],
) -> None:
    """The token could not be had, so the redeem never left: UpstreamUnreachable."""
    make, router = google
    router.routes["token"].side_effect = httpx.ConnectError("refused")
    with pytest.raises(UpstreamUnreachable):
        await make().redeem(LINK, DETAILS)


async def test_generic_objects_have_no_offer_texts(
    google: tuple[Callable[..., GoogleWallet], respx.MockRouter],
) -> None:
    """object_type generic: genericObject paths, and no offer capability."""
    make, router = google
    route = router.get(f"{API}/genericObject/{ISSUER}.member-1").respond(200, json=wallet_object())
    provider = make("generic")
    assert await provider.lookup(LINK) is not None
    assert route.called
    assert not provider.capabilities.offers


async def test_the_offer_class_gives_the_pages_texts(
    google: tuple[Callable[..., GoogleWallet], respx.MockRouter],
) -> None:
    """GET offerClass: title, details, fine print and translated titles."""
    make, router = google
    router.get(f"{API}/offerClass/{ISSUER}.summer-offers").respond(
        200,
        json={
            "id": f"{ISSUER}.summer-offers",
            "title": "Free pastry",
            "details": "With any hot drink.",
            "finePrint": "One per member.",
            "localizedTitle": {"translatedValues": [{"language": "fr", "value": "Viennoiserie"}]},
        },
    )
    offer = await make().offer(f"{ISSUER}.summer-offers")
    assert offer is not None
    assert (offer.title, offer.details, offer.fine_print) == (
        "Free pastry",
        "With any hot drink.",
        "One per member.",
    )
    assert offer.translations == {"title": {"fr": "Viennoiserie"}}
