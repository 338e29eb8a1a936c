"""The keyed hashes that name things without their raw ids: a coupon link in Redis and in logs,
the request asking, and the verification code a success screen shows.

All are BLAKE2b keyed with the deployment's secret (`RESOLVER_SECRET_KEY`), each with its own
personalisation, so one cannot be computed from another, nor any without the secret. Every
replica must hold the same secret: a coupon's keys are its name in Redis.
"""

from __future__ import annotations

import base64
import hashlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from resolver.domain.coupons import Link

# Verification codes are read aloud and typed across a counter: no 0/O/Q/D, 1/I/L, 2/Z, 5/S, 8/B,
# 6/G or U/V to confuse.
CODE_ALPHABET = "ACEFHJKMNPRTWXY3479"
CODE_LENGTH = 4


class Names:
    """The deployment's keyed names."""

    def __init__(self, secret: bytes) -> None:
        # BLAKE2b takes keys of at most 64 bytes; a configured secret may be any length.
        self._secret = hashlib.sha256(secret).digest() if len(secret) > 64 else secret

    def key(self, provider: str, link: Link) -> str:
        """The keyed hash naming a link in Redis and in logs: 16 characters, no raw id."""
        return self._hash(f"{provider}\x1f{link.campaign_id}\x1f{link.external_id}", b"")

    def identity(self, kind: str, value: str) -> str:
        """Who asks, as kept beside a result: a keyed hash of a form token or Idempotency-Key."""
        return self._hash(f"{kind}\x1f{value}", b"resolver-ask")

    def verification_code(self, receipt: str) -> str:
        """A short code for a receipt: the same on every reload, not computable without the secret.

        A keyed hash of the receipt id (domain-separated from `key`'s), read as
        `CODE_LENGTH` letters of `CODE_ALPHABET`.
        """
        digest = hashlib.blake2b(
            receipt.encode(), key=self._secret, person=b"resolver-verify", digest_size=16
        ).digest()
        number = int.from_bytes(digest)
        letters = []
        for _ in range(CODE_LENGTH):
            number, index = divmod(number, len(CODE_ALPHABET))
            letters.append(CODE_ALPHABET[index])
        return "".join(letters)

    def _hash(self, text: str, person: bytes) -> str:
        digest = hashlib.blake2b(
            text.encode(), key=self._secret, person=person, digest_size=10
        ).digest()
        return base64.b32encode(digest).decode().lower()
