"""The rule every coupon id follows, in one place: what a link's `externalId` and `campaignId`
may be, and the link they name.

Conservative on purpose: PassKit ids are alphanumeric and member ids may look like e-mail
addresses; nothing else is needed, and anything else (':' or braces, which delimit Redis keys,
'/' or '%', which mean something in URL paths, spaces, controls) is refused before it can reach
a key, a path or a log.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from resolver.domain.coupons import Link
from resolver.domain.errors import InvalidLink

if TYPE_CHECKING:
    from collections.abc import Mapping

MAX_ID_LENGTH = 128
ID_PATTERN = re.compile(r"[A-Za-z0-9._~@+\-]+")


def link_from(params: Mapping[str, str]) -> Link:
    """The link named by `externalId` and `campaignId`, validated."""
    return Link(
        campaign_id=valid_id("campaignId", params.get("campaignId")),
        external_id=valid_id("externalId", params.get("externalId")),
    )


def valid_id(name: str, value: str | None) -> str:
    if value is None:
        raise InvalidLink(f"{name} is missing")
    if not value:
        raise InvalidLink(f"{name} is empty")
    if len(value) > MAX_ID_LENGTH:
        raise InvalidLink(f"{name} is longer than {MAX_ID_LENGTH} characters")
    if not ID_PATTERN.fullmatch(value) or value in (".", ".."):
        raise InvalidLink(f"{name} has characters outside A-Z a-z 0-9 . _ ~ @ + -")
    return value
