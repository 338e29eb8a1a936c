"""Authentication of PassKit calls: short-lived JWTs and the legacy bearer token."""

from __future__ import annotations

from typing import Any

import httpx
import jwt
import pytest
from resolver_sandbox import DEMO, create_sandbox_app
from resolver_sandbox.auth import Authenticator
from resolver_sandbox.testing import coupon_path, passkit_jwt

COUPON = coupon_path(DEMO.campaign_id, DEMO.unredeemed)


async def refusal(client: httpx.AsyncClient, authorization: str | None) -> tuple[int, object]:
    """The status and message a coupon read gets with this Authorization header."""
    headers = {} if authorization is None else {"Authorization": authorization}
    response = await client.get(COUPON, headers=headers)
    return response.status_code, response.json().get("message")


async def test_valid_jwt_is_accepted(client: httpx.AsyncClient) -> None:
    """A JWT signed with the secret, for the key, issued and expiring in time, reads a coupon."""
    response = await client.get(COUPON, headers={"Authorization": passkit_jwt()})
    assert response.status_code == 200


async def test_jwt_issued_within_a_second_of_now_is_accepted(client: httpx.AsyncClient) -> None:
    """An `iat` up to one second ahead of the sandbox clock is tolerated as clock skew."""
    response = await client.get(COUPON, headers={"Authorization": passkit_jwt(iat_offset=0.5)})
    assert response.status_code == 200


async def test_missing_header_is_refused(client: httpx.AsyncClient) -> None:
    """A call without Authorization is answered 401 with code 16."""
    response = await client.get(COUPON)
    assert response.status_code == 401
    assert response.json() == {
        "code": 16,
        "message": "missing Authorization header",
        "details": [],
    }


@pytest.mark.parametrize(
    ("claims", "message"),
    [
        ({"api_secret": "not-the-secret"}, "bad signature"),
        ({"api_key": "someone-else"}, "unknown api key (uid)"),
        ({"iat_offset": 5}, "token used before issued"),
        ({"iat_offset": -60, "exp_offset": -1}, "token expired"),
        ({"exp_offset": 120}, "token lifetime too long"),
    ],
    ids=["signature", "uid", "iat", "exp", "lifetime"],
)
async def test_bad_jwt_is_refused_with_its_reason(
    client: httpx.AsyncClient, claims: dict[str, Any], message: str
) -> None:
    """Each way a JWT can be wrong is answered 401 naming what is wrong."""
    assert await refusal(client, passkit_jwt(**claims)) == (401, message)


async def test_garbage_authorization_is_refused(client: httpx.AsyncClient) -> None:
    """A header that is no JWT at all is answered 401 "malformed token"."""
    assert await refusal(client, "not-a-jwt") == (401, "malformed token")


async def test_jwt_without_exp_is_refused(client: httpx.AsyncClient) -> None:
    """A JWT must carry `exp`: a token that never expires is not PassKit's kind."""
    token = passkit_jwt(exp_offset=0, exp=None)
    assert await refusal(client, token) == (401, "token has no exp claim")


async def test_unsigned_jwt_is_refused(client: httpx.AsyncClient) -> None:
    """An `alg: none` token is refused rather than trusted."""
    none_header = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0"  # {"alg":"none","typ":"JWT"}
    payload = passkit_jwt().split(".")[1]
    unsigned = f"{none_header}.{payload}."
    assert await refusal(client, unsigned) == (401, "token must be signed with HS256")


async def test_jwt_with_bearer_prefix_is_refused(client: httpx.AsyncClient) -> None:
    """PassKit wants the JWT bare; "Bearer <jwt>" is refused."""
    status, message = await refusal(client, f"Bearer {passkit_jwt()}")
    assert status == 401
    assert message == "JWT must be sent without the Bearer prefix"


async def test_legacy_token_is_accepted_as_bearer(client: httpx.AsyncClient) -> None:
    """The configured long-lived token works as "Bearer <token>"."""
    response = await client.get(COUPON, headers={"Authorization": "Bearer legacy-token"})
    assert response.status_code == 200


async def test_wrong_legacy_token_is_refused(client: httpx.AsyncClient) -> None:
    """A bearer token other than the configured one is refused."""
    assert await refusal(client, "Bearer other-token") == (401, "invalid token")


async def test_legacy_token_is_refused_when_none_is_configured() -> None:
    """Without a configured token no bearer credential is accepted."""
    transport = httpx.ASGITransport(app=create_sandbox_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as client:
        assert await refusal(client, "Bearer legacy-token") == (401, "invalid token")


async def test_other_credentials_are_configurable() -> None:
    """An app made with another key and secret accepts tokens for those and refuses the demo's."""
    app = create_sandbox_app(api_key="key-2", api_secret="secret-2" * 4)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as client:
        assert await refusal(client, passkit_jwt()) == (401, "bad signature")
        good = passkit_jwt(api_key="key-2", api_secret="secret-2" * 4)
        assert (await client.get(COUPON, headers={"Authorization": good})).status_code == 200


def test_reused_jwt_is_checked_for_expiry_on_every_call() -> None:
    """A token accepted once is refused after it expires: only its signature check is cached."""
    now = [1_000_000.0]
    secret = "a-secret-long-enough-for-pyjwt-32b"
    authenticator = Authenticator(api_secret=secret, clock=lambda: now[0])
    claims = {"uid": "sandbox-key", "iat": now[0] - 10, "exp": now[0] + 30}
    token = jwt.encode(claims, secret, algorithm="HS256")
    assert authenticator.refusal(token) is None
    now[0] += 31
    assert authenticator.refusal(token) == "token expired"


async def test_admin_api_needs_no_credentials(client: httpx.AsyncClient) -> None:
    """The `/_sandbox/` endpoints answer without Authorization."""
    response = await client.get("/_sandbox/stats")
    assert response.status_code == 200
