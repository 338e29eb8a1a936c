"""Reads a link's `externalId` and `campaignId` from a query string or a body, strictly.

Starlette's own parsing forgives a lot (bad percent-escapes pass through, invalid UTF-8 becomes
U+FFFD, a repeated parameter silently wins); a redemption link must not, so query strings and
form bodies are decoded here by hand and every failure names what is wrong.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING
from urllib.parse import unquote_to_bytes, urlencode

from resolver.domain.errors import BadSignature, InvalidBody, InvalidLink
from resolver.domain.ids import link_from
from resolver.domain.signing import LinkKey, sign, verify

if TYPE_CHECKING:
    from collections.abc import Mapping

    from resolver.domain.coupons import Link

BAD_ESCAPE = re.compile(rb"%(?![0-9A-Fa-f]{2})")
LINK_FIELDS = ("externalId", "campaignId")
# Fields a JSON body sends as text. No-code tools (Make, Zapier) send an all-digit id as a JSON
# number, so integers are taken too, as the digits sent; no fraction, exponent or boolean.
# JSON has no integer with leading zeros: a staff code such as "012345" must be a string.
STRING_FIELDS = (*LINK_FIELDS, "kid", "sig", "staffCode", "redemptionCode", "transactionReference")
# Fields a JSON body may send as a number (or a string), taken as the text sent.
NUMBER_FIELDS = ("transactionAmount",)


def parse_pairs(raw: bytes, where: str) -> dict[str, str]:
    """Decode `a=1&b=2` (a query string or a form body) strictly: one value per name."""
    if BAD_ESCAPE.search(raw):
        raise InvalidLink(f"the {where} has a malformed percent-escape")
    params: dict[str, str] = {}
    for chunk in raw.split(b"&"):
        if not chunk:
            continue
        name_raw, _, value_raw = chunk.partition(b"=")
        try:
            name = unquote_to_bytes(name_raw.replace(b"+", b" ")).decode()
            value = unquote_to_bytes(value_raw.replace(b"+", b" ")).decode()
        except UnicodeDecodeError as error:
            raise InvalidLink(f"the {where} is not valid UTF-8") from error
        if name in params:
            raise InvalidLink(f"{name} is given more than once")
        params[name] = value
    return params


class JSONInteger(str):
    """A JSON integer, kept as the digits it was sent as (never converted to an int, which
    Python refuses past 4,300 digits)."""

    __slots__ = ()


class JSONFraction(str):
    """A JSON number with a fraction or exponent, kept as the text it was sent as (a float
    would turn 0.1 into 0.1000000000000000055…)."""

    __slots__ = ()


def parse_json_object(raw: bytes) -> dict[str, str]:
    """A JSON body: an object whose text fields, when present, are strings or integers."""
    try:
        data = json.loads(raw.decode(), parse_int=JSONInteger, parse_float=JSONFraction)
    except (UnicodeDecodeError, ValueError) as error:
        raise InvalidBody("the body is not valid UTF-8 JSON") from error
    except RecursionError as error:
        # json's parser recurses once per level, and a body within the size cap can nest
        # thousands deep; it unwinds cleanly, and no link is nested at all.
        raise InvalidBody("the JSON body is nested too deeply") from error
    if not isinstance(data, dict):
        raise InvalidBody("the JSON body must be an object")
    params: dict[str, str] = {}
    for name, value in data.items():
        if name in NUMBER_FIELDS and not isinstance(value, str):
            raise InvalidBody(f"{name} must be a number or a string")
        if name in STRING_FIELDS and (
            not isinstance(value, str) or isinstance(value, JSONFraction)
        ):
            raise InvalidLink(f"{name} must be a string or an integer")
        numeric = isinstance(value, JSONInteger | JSONFraction)
        if numeric and name not in STRING_FIELDS + NUMBER_FIELDS:
            continue  # other fields are read as strings only
        if isinstance(value, str):
            params[name] = str(value)
    return params


def merge(query: Mapping[str, str], body: Mapping[str, str]) -> dict[str, str]:
    """Query and body together; the same field with two different values is refused."""
    merged = dict(query)
    for name, value in body.items():
        if name in merged and merged[name] != value:
            raise InvalidLink(f"{name} differs between the query string and the body")
        merged[name] = value
    return merged


def verified_link(params: Mapping[str, str], keys: tuple[LinkKey, ...]) -> Link:
    """The link, and with signing keys configured, proof that it was issued (kid + sig)."""
    link = link_from(params)
    if keys and not verify(keys, link, params.get("kid"), params.get("sig")):
        raise BadSignature(link)
    return link


def link_url(link: Link, keys: tuple[LinkKey, ...], lang: str | None = None) -> str:
    """The permanent link as a path on this service, signed with the newest key when set
    (and in `lang` when the member chose one)."""
    query = {"externalId": link.external_id, "campaignId": link.campaign_id}
    query |= signature_fields(link, keys)
    if lang:
        query["lang"] = lang
    return "/redeem?" + urlencode(query)


def signature_fields(link: Link, keys: tuple[LinkKey, ...]) -> dict[str, str]:
    """The link's `kid` and `sig` (with the newest key), for a form that carries the link on;
    nothing when links are not signed."""
    return sign(keys[0], link) if keys else {}
