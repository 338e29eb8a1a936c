"""Signed links: an HMAC that makes a permanent link unforgeable without making it secret.

A pass link carries guessable ids (a member's pass id, a campaign id). With keys configured, a
link must also carry `kid` (which key) and `sig`:

    sig = base64url(HMAC-SHA256(key, "resolver-link-v1\\n" + campaignId + "\\n" + externalId))

truncated to 128 bits. Several keys may be valid at once, so a new key can be rolled onto the
passes while links signed with the old one keep working. Verification compares in constant time;
a missing or wrong signature is answered exactly like an unknown coupon (docs/reliability.md).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from resolver.domain.coupons import Link

CONTEXT = b"resolver-link-v1"
SIGNATURE_BYTES = 16
KEY_ID = re.compile(r"[A-Za-z0-9_-]{1,32}")


@dataclass(frozen=True, slots=True)
class LinkKey:
    """One signing key and the id links name it by."""

    kid: str
    secret: bytes = field(repr=False)


def parse_keys(value: str) -> tuple[LinkKey, ...]:
    """`kid:secret,kid2:secret2` → keys; the first one signs new links."""
    keys = []
    for item in value.split(","):
        if not item.strip():
            continue
        kid, sep, secret = item.strip().partition(":")
        if not sep or not KEY_ID.fullmatch(kid):
            raise ValueError("each key must be kid:secret, kid being 1-32 of A-Z a-z 0-9 _ -")
        if len(secret) < 16:
            raise ValueError(f"the secret of key {kid!r} is shorter than 16 characters")
        keys.append(LinkKey(kid, secret.encode()))
    if len({key.kid for key in keys}) != len(keys):
        raise ValueError("two keys share one kid")
    return tuple(keys)


def signature(key: LinkKey, campaign_id: str, external_id: str) -> str:
    message = b"\n".join((CONTEXT, campaign_id.encode(), external_id.encode()))
    digest = hmac.new(key.secret, message, hashlib.sha256).digest()[:SIGNATURE_BYTES]
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def sign(key: LinkKey, link: Link) -> dict[str, str]:
    """The query parameters a signed link carries besides externalId and campaignId."""
    return {"kid": key.kid, "sig": signature(key, link.campaign_id, link.external_id)}


def verify(keys: tuple[LinkKey, ...], link: Link, kid: str | None, sig: str | None) -> bool:
    """True when `sig` is the signature of `link` under the key named `kid`."""
    if not kid or not sig:
        return False
    for key in keys:
        if hmac.compare_digest(key.kid.encode(), kid.encode()):
            expected = signature(key, link.campaign_id, link.external_id)
            return hmac.compare_digest(expected.encode(), sig.encode())
    return False
