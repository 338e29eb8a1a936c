"""The JWT as PassKit checks it, and the long-lived token alternative."""

from __future__ import annotations

import time

import httpx
import jwt

from resolver.providers.passkit_auth import PassKitJWTAuth, PassKitTokenAuth

SECRET = "a-passkit-rest-secret-of-32-bytes-or-more"


def authorization(auth: httpx.Auth) -> str:
    request = httpx.Request("GET", "https://api.pub1.passkit.io/x")
    flow = auth.sync_auth_flow(request)
    return next(flow).headers["authorization"]


def test_the_jwt_carries_uid_iat_in_the_past_and_a_short_exp() -> None:
    """Decoded with the secret: uid is the key, iat is past, exp at most 60 s ahead."""
    header = authorization(PassKitJWTAuth("my-key", SECRET))
    assert not header.startswith("Bearer")
    claims = jwt.decode(header, SECRET, algorithms=["HS256"])
    now = time.time()
    assert claims["uid"] == "my-key"
    assert claims["iat"] < now
    assert now < claims["exp"] <= now + 60
    assert jwt.get_unverified_header(header)["alg"] == "HS256"


def test_the_jwt_is_reused_until_shortly_before_it_expires() -> None:
    """One signature serves many requests, then a fresh one replaces it in time."""
    clock = [1_000_000.0]
    auth = PassKitJWTAuth("k", SECRET, clock=lambda: clock[0])
    first = authorization(auth)
    clock[0] += 25
    assert authorization(auth) == first
    clock[0] += 10
    renewed = authorization(auth)
    assert renewed != first
    claims = jwt.decode(renewed, SECRET, algorithms=["HS256"], options={"verify_exp": False})
    assert claims["exp"] - clock[0] > 5


def test_the_long_lived_token_is_sent_as_bearer() -> None:
    """The portal's token goes as `Authorization: Bearer <token>`."""
    assert authorization(PassKitTokenAuth("legacy")) == "Bearer legacy"
