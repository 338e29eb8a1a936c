"""The ports of the redemption use case: what it needs from a coupon back end (`backend`:
`Provider`, `Providers`) and from the store that claims coupons (`store`: `ClaimStore`), and
the vocabulary of their answers. The use case imports these and the domain, nothing else.
"""

from resolver.redemption.ports.backend import Capabilities, Provider, Providers, RedeemAnswer
from resolver.redemption.ports.store import (
    AttemptState,
    AuditFacts,
    Claim,
    ClaimKind,
    ClaimStore,
    FormToken,
    Held,
    HeldState,
    Settled,
    new_nonce,
    receipt_id,
    split_receipt,
)

__all__ = [
    "AttemptState",
    "AuditFacts",
    "Capabilities",
    "Claim",
    "ClaimKind",
    "ClaimStore",
    "FormToken",
    "Held",
    "HeldState",
    "Provider",
    "Providers",
    "RedeemAnswer",
    "Settled",
    "new_nonce",
    "receipt_id",
    "split_receipt",
]
