"""The API's answer document: the same JSON however it is rendered."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from resolver.domain.coupons import Link
from resolver.domain.redemptions import Outcome, Redemption, Till
from resolver.web.answers import Result

LINK = Link("camp-ü", "member-1")


@pytest.mark.parametrize(
    "result",
    [
        Redemption(
            Outcome.REDEEMED,
            LINK,
            coupon_id="c-1",
            redeemed_at=datetime(2026, 11, 27, 12, 0, 0, 123000, tzinfo=UTC),
            detail="Redeemed — «ok»",
            till=Till(code="A1", transaction_amount=Decimal("12.50")),
        ),
        Redemption(Outcome.ALREADY_REDEEMED, LINK),
    ],
)
def test_the_rendered_answer_is_the_compact_json_of_its_document(result: Redemption) -> None:
    """Every field, null ones included, by alias, non-ASCII kept, no spaces: what Starlette's
    own JSON rendering of the document gives."""
    answer = Result.of(result)
    body = answer.response(200).body
    expected = json.dumps(
        answer.json_body(), ensure_ascii=False, allow_nan=False, separators=(",", ":")
    )
    assert body == expected.encode()
    assert json.loads(bytes(body))["campaignId"] == "camp-ü"
