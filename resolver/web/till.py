"""What a till adds to a redemption through the API: the code used and its own transaction.

    redemptionCode         1-64 printable characters (a code the till read or was given)
    transactionReference   1-128 printable characters (the till's receipt or order number)
    transactionAmount      a decimal ≥ 0 with at most 2 places and 10 whole digits, e.g. 12.50

Each is optional, sent upstream in PassKit's `redemptionDetails` and echoed in the answer;
anything else is refused with 400 before anything is claimed or sent.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import TYPE_CHECKING

from resolver.domain.errors import InvalidRequest
from resolver.domain.redemptions import Till

if TYPE_CHECKING:
    from collections.abc import Mapping

REDEMPTION_CODE = "redemptionCode"
TRANSACTION_REFERENCE = "transactionReference"
TRANSACTION_AMOUNT = "transactionAmount"
MAX_CODE = 64
MAX_REFERENCE = 128
# Printable text without control characters (a till's reference may have spaces and accents).
PRINTABLE = re.compile(r"[^\x00-\x1f\x7f-\x9f]+")
# Plain decimal notation: no sign, exponent, spaces or thousands separators.
AMOUNT = re.compile(r"(0|[1-9][0-9]{0,9})(\.[0-9]{1,2})?")


def till_from(params: Mapping[str, str]) -> Till | None:
    """The till's fields of a request, validated; None when it sends none."""
    till = Till(
        code=text(params, REDEMPTION_CODE, MAX_CODE),
        transaction_reference=text(params, TRANSACTION_REFERENCE, MAX_REFERENCE),
        transaction_amount=amount(params.get(TRANSACTION_AMOUNT)),
    )
    return till or None


def text(params: Mapping[str, str], name: str, limit: int) -> str | None:
    """A field's text, trimmed; None when absent or empty; refused when too long or unprintable."""
    value = params.get(name, "").strip()
    if not value:
        return None
    if len(value) > limit or not PRINTABLE.fullmatch(value):
        raise InvalidRequest(f"{name} must be 1 to {limit} printable characters")
    return value


def amount(value: str | None) -> Decimal | None:
    """A transaction amount as a decimal; None when absent or empty."""
    if value is None or not value.strip():
        return None
    if not AMOUNT.fullmatch(value.strip()):
        raise InvalidRequest(
            f"{TRANSACTION_AMOUNT} must be a decimal number ≥ 0 with at most 2 decimal places"
        )
    return Decimal(value.strip())
