"""What an audit entry becomes: its event's type, id and body."""

from __future__ import annotations

import json

import pytest

from resolver.domain.redemptions import Outcome
from resolver.events.catalogue import EVENT_FOR_OUTCOME, body, event_id, event_type

ENTRY = {
    "at": "1777896000123", "coupon": "k3y", "campaign": "summer", "backend": "passkit",
    "outcome": "redeemed", "coupon_id": "c-1", "offer": "", "store": "paris", "employee": "",
    "staff_method": "store_code", "reference": "k3y-n1", "code": "K7QX", "retry": "0",
}  # fmt: skip


def test_every_outcome_makes_an_event() -> None:
    """No settled outcome goes unannounced (in_progress is never settled)."""
    settled = {outcome.value for outcome in Outcome} - {"in_progress"}
    assert set(EVENT_FOR_OUTCOME) == settled


@pytest.mark.parametrize(
    ("outcome", "kind"),
    [
        ("redeemed", "coupon.redeemed"),
        ("already_redeemed", "coupon.already_redeemed"),
        ("unconfirmed", "coupon.redemption_uncertain"),
        ("in_progress", None),
    ],
)
def test_an_outcome_names_its_event(outcome: str, kind: str | None) -> None:
    """The three the issue names, and none for an answer that settles nothing."""
    assert event_type(ENTRY | {"outcome": outcome}) == kind


def test_the_body_has_the_specifications_shape_and_leaves_out_empty_fields() -> None:
    """type, timestamp (to the ms, UTC) and data; the entry's id names the event."""
    event = json.loads(body("1777896000123-0", ENTRY))
    assert event["type"] == "coupon.redeemed"
    assert event["timestamp"] == "2026-05-04T12:00:00.123Z"
    assert event["data"] == {
        "coupon": "k3y", "campaign_id": "summer", "backend": "passkit", "outcome": "redeemed",
        "coupon_id": "c-1", "store_id": "paris", "verified_by": "store_code",
        "receipt": "k3y-n1", "verification_code": "K7QX", "retry": False, "replay": False,
        "audit_id": "1777896000123-0",
    }  # fmt: skip
    assert event_id("1777896000123-0") == "msg_1777896000123-0"


def test_the_same_request_answered_again_makes_no_second_event() -> None:
    """Its event went out when it settled; another request answered from memory makes one."""
    assert event_type(ENTRY | {"replay": "1", "retry": "1"}) is None
    again = ENTRY | {"replay": "1", "retry": "0", "outcome": "already_redeemed"}
    assert event_type(again) == "coupon.already_redeemed"
    assert event_type(ENTRY | {"replay": "0", "retry": "1"}) == "coupon.redeemed"  # a doubt
