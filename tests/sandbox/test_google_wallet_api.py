"""The simulated Google OAuth token endpoint and Wallet objects API."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import httpx
import jwt
import pytest
from resolver_sandbox import DEMO, SandboxState, create_sandbox_app
from resolver_sandbox.google_oauth import AUDIENCE, GRANT_TYPE, WALLET_SCOPE
from resolver_sandbox.google_wallet_api import ISSUER_ID

from tests.support.google import TEST_ACCOUNT, public_key, service_account_info

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

OBJECT = f"/walletobjects/v1/offerObject/{ISSUER_ID}.{DEMO.unredeemed}"


def assertion(scope: str = WALLET_SCOPE, lifetime: int = 3600, email: str = TEST_ACCOUNT) -> str:
    """A service account's signed grant, as google-auth makes it."""
    now = int(time.time())
    claims = {"iss": email, "aud": AUDIENCE, "scope": scope, "iat": now, "exp": now + lifetime}
    key = service_account_info("https://t.test")["private_key"]
    return jwt.encode(claims, key, algorithm="RS256")


@pytest.fixture
async def google(state: SandboxState) -> AsyncIterator[httpx.AsyncClient]:
    """A sandbox whose token endpoint knows the test account's public key."""
    app = create_sandbox_app(state, google_keys={TEST_ACCOUNT: public_key()})
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox.test") as client:
        yield client


async def token(client: httpx.AsyncClient, grant: str) -> httpx.Response:
    return await client.post("/oauth2/token", data={"grant_type": GRANT_TYPE, "assertion": grant})


async def bearer(client: httpx.AsyncClient) -> dict[str, str]:
    answer = (await token(client, assertion())).json()
    return {"Authorization": f"Bearer {answer['access_token']}"}


async def test_a_signed_grant_gets_an_hour_long_token(google: httpx.AsyncClient) -> None:
    """Google's answer shape."""
    answer = (await token(google, assertion())).json()
    assert (answer["token_type"], answer["expires_in"]) == ("Bearer", 3600)


@pytest.mark.parametrize(
    ("grant", "error"),
    [
        (assertion(scope="email"), "invalid_scope"),
        (assertion(lifetime=7200), "invalid_grant"),
        (assertion(email="someone@else.test"), "invalid_grant"),
        ("not-a-jwt", "invalid_grant"),
    ],
)
async def test_bad_grants_are_refused_as_google_does(
    google: httpx.AsyncClient, grant: str, error: str
) -> None:
    """Wrong scope, too long a life, an unknown account, garbage: 400 with an OAuth error."""
    response = await token(google, grant)
    assert (response.status_code, response.json()["error"]) == (400, error)


async def test_a_forged_signature_is_refused(google: httpx.AsyncClient) -> None:
    """The registered key checks the signature: a reversed one does not pass."""
    header, payload, signature = assertion().split(".")
    forged = f"{header}.{payload}.{signature[::-1]}"
    assert (await token(google, forged)).json()["error"] == "invalid_grant"


async def test_objects_need_a_token_the_endpoint_issued(google: httpx.AsyncClient) -> None:
    """401 in Google's error shape without one."""
    response = await google.get(OBJECT, headers={"Authorization": "Bearer made-up"})
    assert response.status_code == 401
    assert response.json()["error"]["status"] == "UNAUTHENTICATED"


async def test_patch_completed_applies_once_and_answers_every_time(
    google: httpx.AsyncClient,
) -> None:
    """Google's idempotent PATCH: two calls, both 200, one change."""
    headers = await bearer(google)
    for _ in range(2):
        response = await google.patch(OBJECT, json={"state": "COMPLETED"}, headers=headers)
        assert (response.status_code, response.json()["state"]) == (200, "COMPLETED")
    tally = (await google.get("/_sandbox/stats")).json()["coupons"][
        f"google:{ISSUER_ID}.{DEMO.unredeemed}"
    ]
    assert (tally["count"], tally["applied"]) == (2, 1)


async def test_an_object_past_its_validity_reads_expired(google: httpx.AsyncClient) -> None:
    """The demo's expired coupon, and an unknown object's 404."""
    headers = await bearer(google)
    expired = f"/walletobjects/v1/genericObject/{ISSUER_ID}.{DEMO.expired}"
    assert (await google.get(expired, headers=headers)).json()["state"] == "EXPIRED"
    missing = await google.get(f"/walletobjects/v1/offerObject/{ISSUER_ID}.x", headers=headers)
    assert (missing.status_code, missing.json()["error"]["status"]) == (404, "NOT_FOUND")


async def test_a_class_carries_the_offer_texts(google: httpx.AsyncClient) -> None:
    """offerClass: title, details, fine print."""
    headers = await bearer(google)
    found = await google.get(
        f"/walletobjects/v1/offerClass/{ISSUER_ID}.{DEMO.google_class}", headers=headers
    )
    assert found.json()["title"] == "Free pastry"


async def test_without_known_keys_only_the_claims_are_checked(client: httpx.AsyncClient) -> None:
    """The zero-config demo's generated keys are unknown to the sandbox: claims still count."""
    assert (await token(client, assertion(email="anyone@demo.test"))).status_code == 200
    assert (await token(client, assertion(scope="email"))).status_code == 400
