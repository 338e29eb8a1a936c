"""Signed outbound events: the audit trail's entries, delivered at least once to the endpoints a
deployment configures, signed per the Standard Webhooks specification (docs/events.md)."""
