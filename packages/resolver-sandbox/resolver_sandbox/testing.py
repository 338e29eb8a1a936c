"""Helpers for tests that call the sandbox: signed PassKit credentials and endpoint paths.

Importable from any test (the service's end-to-end tests included), so each does not grow its
own JWT signer; the signer accepts the short demo secret without PyJWT's key-length warning,
which pytest's `filterwarnings = error` would turn into a failure.
"""

from __future__ import annotations

import json
import time

import jwt

from resolver_sandbox.auth import DEFAULT_API_KEY, DEFAULT_API_SECRET, HMACWithAnyKeyLength

REDEEM_PATH = "/coupon/singleUse/coupon/redeem"

_signer = jwt.PyJWS(algorithms=["HS256"])
_signer.unregister_algorithm("HS256")
_signer.register_algorithm("HS256", HMACWithAnyKeyLength(HMACWithAnyKeyLength.SHA256))


def passkit_jwt(
    *,
    api_key: str = DEFAULT_API_KEY,
    api_secret: str = DEFAULT_API_SECRET,
    iat_offset: float = -10.0,
    exp_offset: float = 40.0,
    **claims: object,
) -> str:
    """A PassKit JWT issued `iat_offset` and expiring `exp_offset` seconds from now.

    Extra `claims` are added as given; a claim given as None is left out.
    """
    now = time.time()
    payload = {"uid": api_key, "iat": now + iat_offset, "exp": now + exp_offset, **claims}
    present = {name: value for name, value in payload.items() if value is not None}
    return _signer.encode(json.dumps(present).encode(), api_secret, algorithm="HS256")


def passkit_headers(
    *, api_key: str = DEFAULT_API_KEY, api_secret: str = DEFAULT_API_SECRET
) -> dict[str, str]:
    """Headers carrying a fresh, valid PassKit JWT for `api_key`."""
    return {"Authorization": passkit_jwt(api_key=api_key, api_secret=api_secret)}


def coupon_path(campaign_id: str, external_id: str) -> str:
    """The PassKit path reading the coupon that holds `external_id` in `campaign_id`."""
    return f"/coupon/singleUse/coupon/externalId/{campaign_id}/{external_id}"
