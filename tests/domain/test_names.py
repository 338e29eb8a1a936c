"""The keyed names: of a coupon link, of who asks, and the verification code of a receipt."""

from __future__ import annotations

from resolver.domain.coupons import Link
from resolver.domain.names import CODE_ALPHABET, CODE_LENGTH, Names
from resolver.redemption.ports import new_nonce

LINK = Link("camp-1", "member-1")
NAMES = Names(b"secret")


def test_a_links_key_is_a_short_keyed_hash_of_the_back_end_and_the_link() -> None:
    """16 characters, different for another secret and for another back end."""
    key = NAMES.key("passkit", LINK)
    assert len(key) == 16
    assert key != Names(b"other").key("passkit", LINK)
    assert key != NAMES.key("other-provider", LINK)
    assert "member-1" not in key


def test_who_asks_is_named_apart_from_links() -> None:
    """A form token's and an Idempotency-Key's names never collide with each other."""
    assert NAMES.identity("form", "abc") != NAMES.identity("key", "abc")
    assert NAMES.identity("form", "abc") == NAMES.identity("form", "abc")


def test_a_verification_code_is_stable_per_receipt() -> None:
    """The same receipt always gets the same code: a reload cannot change what staff read."""
    receipt = f"{NAMES.key('passkit', LINK)}-{'a' * 16}"
    assert NAMES.verification_code(receipt) == NAMES.verification_code(receipt)


def test_verification_codes_are_short_unambiguous_and_differ_between_receipts() -> None:
    """4 characters from the unambiguous alphabet, spread over receipts like random draws."""
    key = NAMES.key("passkit", LINK)
    codes = [NAMES.verification_code(f"{key}-{new_nonce()}") for _ in range(300)]
    assert all(len(code) == CODE_LENGTH for code in codes)
    assert set("".join(codes)) <= set(CODE_ALPHABET)
    assert not set("".join(codes)) & set("0O1IL2Z5S8B6GUVQD")
    # 300 draws from 19**4 codes: a handful of repeats at most, never one code for all.
    assert len(set(codes)) >= 290


def test_a_verification_code_needs_the_secret() -> None:
    """Another deployment's secret gives other codes, so codes cannot be computed from ids."""
    key = NAMES.key("passkit", LINK)
    receipts = [f"{key}-{new_nonce()}" for _ in range(20)]
    other = Names(b"another secret")
    assert [NAMES.verification_code(r) for r in receipts] != [
        other.verification_code(r) for r in receipts
    ]


def test_a_secret_of_any_length_can_key_the_hashes() -> None:
    """A configured secret longer than BLAKE2b's 64-byte key limit works, distinctly."""
    long_secret = Names(b"x" * 128)
    assert len(long_secret.key("passkit", LINK)) == 16
    assert long_secret.key("passkit", LINK) != Names(b"y" * 128).key("passkit", LINK)
    assert long_secret.verification_code("k-n")
