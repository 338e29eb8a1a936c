"""Link signatures: deterministic, key-bound, rotatable, compared in constant time."""

from __future__ import annotations

import pytest

from resolver.domain.coupons import Link
from resolver.domain.signing import LinkKey, parse_keys, sign, verify

LINK = Link("camp-1", "member-1")
NEW = LinkKey("k2", b"new-secret-0123456789")
OLD = LinkKey("k1", b"old-secret-0123456789")


def test_a_signature_verifies_only_for_its_own_link() -> None:
    """Changing either id, the key id or a character of the signature breaks it."""
    params = sign(NEW, LINK)
    assert verify((NEW,), LINK, params["kid"], params["sig"])
    assert not verify((NEW,), Link("camp-1", "member-2"), params["kid"], params["sig"])
    assert not verify((NEW,), Link("camp-2", "member-1"), params["kid"], params["sig"])
    assert not verify((NEW,), LINK, "k1", params["sig"])
    flipped = ("A" if params["sig"][0] != "A" else "B") + params["sig"][1:]
    assert not verify((NEW,), LINK, params["kid"], flipped)


def test_the_canonical_string_separates_the_fields() -> None:
    """Moving characters between campaignId and externalId changes the signature."""
    assert sign(NEW, Link("ab", "c"))["sig"] != sign(NEW, Link("a", "bc"))["sig"]


def test_during_rotation_links_signed_with_either_key_verify() -> None:
    """Old passes keep working while new ones are signed with the new key."""
    keys = (NEW, OLD)
    for key in keys:
        params = sign(key, LINK)
        assert verify(keys, LINK, params["kid"], params["sig"])
    retired = sign(OLD, LINK)
    assert not verify((NEW,), LINK, retired["kid"], retired["sig"])


@pytest.mark.parametrize(("kid", "sig"), [(None, None), ("k2", None), (None, "x"), ("", "")])
def test_missing_parts_never_verify(kid: str | None, sig: str | None) -> None:
    """No kid or no sig is simply unsigned."""
    assert not verify((NEW,), LINK, kid, sig)


def test_keys_parse_from_kid_secret_pairs() -> None:
    """`kid:secret,...` in order; the first signs."""
    keys = parse_keys("k2:new-secret-0123456789, k1:old-secret-0123456789")
    assert [key.kid for key in keys] == ["k2", "k1"]
    assert "secret" not in repr(keys)


@pytest.mark.parametrize(
    "value",
    ["nokid", "k1:short", "bad kid:0123456789abcdef", "a:0123456789abcdef,a:0123456789abcdeg"],
)
def test_bad_keys_are_refused(value: str) -> None:
    """Malformed, short or duplicate keys stop start-up."""
    with pytest.raises(ValueError):  # noqa: PT011  # the messages are checked in test_settings
        parse_keys(value)
