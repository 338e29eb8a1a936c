"""Which events the audit trail's entries become, and what their bodies say.

One entry is at most one event, named after its outcome. A doubt settled later makes one (it is
news), and so does another request answered from the stored result (someone tried a redeemed
coupon again); the same request answered again makes none: its event was sent already.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

# outcome (`resolver.domain.redemptions.Outcome`) → event type
EVENT_FOR_OUTCOME = {
    "redeemed": "coupon.redeemed",
    "already_redeemed": "coupon.already_redeemed",
    "unconfirmed": "coupon.redemption_uncertain",
    "expired": "coupon.expired",
    "no_active_coupon": "coupon.not_found",
    "upstream_error": "coupon.redemption_failed",
    "offer_unavailable": "coupon.offer_unavailable",
}
EVENT_TYPES = frozenset(EVENT_FOR_OUTCOME.values())
# entry field → the body's name for it (absent or empty fields are left out)
DATA_FIELDS = {
    "coupon": "coupon",
    "campaign": "campaign_id",
    "backend": "backend",
    "outcome": "outcome",
    "coupon_id": "coupon_id",
    "offer": "offer_id",
    "store": "store_id",
    "employee": "employee_id",
    "staff_method": "verified_by",
    "reference": "receipt",
    "code": "verification_code",
    "external_id": "external_id",
    "transaction_reference": "transaction_reference",
    "transaction_amount": "transaction_amount",
}


def event_type(fields: dict[str, str]) -> str | None:
    """The event an entry makes, or None: an outcome that makes none, or the same request
    answered again from the stored result (its event was sent when it was settled)."""
    if fields.get("replay") == "1" and fields.get("retry") == "1":
        return None
    return EVENT_FOR_OUTCOME.get(fields.get("outcome", ""))


def event_id(entry_id: str) -> str:
    """The `webhook-id` of the entry's event: the same on every try and every replay."""
    return f"msg_{entry_id}"


def body(entry_id: str, fields: dict[str, str]) -> str:
    """The event's JSON body, per the specification: type, timestamp and data."""
    at = fields.get("at", "")
    ms = int(at) if at.isdigit() else int(entry_id.partition("-")[0])
    data: dict[str, object] = {
        name: fields[field] for field, name in DATA_FIELDS.items() if fields.get(field)
    }
    data["retry"] = fields.get("retry") == "1"
    data["replay"] = fields.get("replay") == "1"
    data["audit_id"] = entry_id
    event = {
        "type": event_type(fields),
        "timestamp": _iso(ms),
        "data": data,
    }
    return json.dumps(event, separators=(",", ":"))


def _iso(ms: int) -> str:
    """RFC 3339 in UTC to the millisecond, as the JSON API writes times."""
    at = datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds")
    return at.replace("+00:00", "Z")
