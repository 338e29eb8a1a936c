"""Strict reading of link parameters."""

from __future__ import annotations

import pytest

from resolver.domain.coupons import Link
from resolver.domain.errors import InvalidBody, InvalidLink
from resolver.domain.ids import link_from
from resolver.web.links import merge, parse_json_object, parse_pairs


def test_pairs_are_percent_decoded_with_plus_as_space() -> None:
    """Ordinary form encoding is understood."""
    assert parse_pairs(b"a=x%40y&b=1+2&c=", "q") == {"a": "x@y", "b": "1 2", "c": ""}


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"a=%G1", "malformed percent-escape"),
        (b"a=%4", "malformed percent-escape"),
        (b"a=%FF", "not valid UTF-8"),
        (b"a=1&a=1", "more than once"),
    ],
)
def test_bad_encodings_are_refused_with_a_reason(raw: bytes, message: str) -> None:
    """Nothing is silently replaced or dropped."""
    with pytest.raises(InvalidLink, match=message):
        parse_pairs(raw, "query string")


@pytest.mark.parametrize("value", ["member-1", "A.b_c~d@e+f", "x" * 128, "3VxGhpD6KdYxQeQPkjqu9u"])
def test_conservative_ids_are_accepted(value: str) -> None:
    """PassKit ids and e-mail-like member ids pass."""
    assert link_from({"externalId": value, "campaignId": "c"}) == Link("c", value)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (None, "missing"),
        ("", "empty"),
        ("x" * 129, "longer than 128"),
        ("a b", "characters outside"),
        ("a/b", "characters outside"),
        ("a:b", "characters outside"),
        ("{a}", "characters outside"),
        ("..", "characters outside"),
        ("caf\u00e9", "characters outside"),
        ("\x00", "characters outside"),
    ],
)
def test_other_ids_are_refused(value: str | None, message: str) -> None:
    """Anything that could confuse a key, a path or a page is refused."""
    params = {"campaignId": "c"} | ({"externalId": value} if value is not None else {})
    with pytest.raises(InvalidLink, match=message):
        link_from(params)


def test_json_bodies_must_be_objects_with_string_link_fields() -> None:
    """Other fields are ignored; link fields must be strings."""
    assert parse_json_object(b'{"externalId": "a", "n": 1}') == {"externalId": "a"}
    with pytest.raises(InvalidLink):
        parse_json_object(b'{"campaignId": null}')
    with pytest.raises(InvalidBody):
        parse_json_object(b"[]")


def test_query_and_body_may_agree_but_not_differ() -> None:
    """The same field twice is fine only with the same value."""
    assert merge({"a": "1"}, {"a": "1", "b": "2"}) == {"a": "1", "b": "2"}
    with pytest.raises(InvalidLink, match="differs"):
        merge({"a": "1"}, {"a": "2"})
