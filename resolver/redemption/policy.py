"""The timings the redemption use case follows, and the lease that bounds a claimed attempt.

Every upstream exchange has one overall deadline, `exchange` (all tries, TLS, pool wait, write,
read and token fetches included). An attempt makes a known number of exchanges: a look before
the redeem for a back end whose redeem does not refuse a used coupon itself, the redeem's own
calls, and a read-back of the coupon and its offer. The claim's lease outlasts all of them with
a margin, so a claim can only expire after its owner has given up.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable

    from resolver.redemption.ports import Capabilities, Provider


@dataclass(frozen=True, slots=True)
class CouponLimit:
    """A fixed window the claim script enforces per coupon link (count 0: off)."""

    count: int = 0
    window: float = 60.0


# Between an owner's last exchange ending and its settle reaching Redis (and clock skew).
LEASE_MARGIN = 5.0
# A read-back is two exchanges: the coupon, then its offer when the cache has none.
READ_BACK_CALLS = 2


def lease(exchange: float, capabilities: Capabilities) -> float:
    """How long a claim protects an attempt at a back end with these capabilities."""
    looks = 0 if capabilities.guards_redeem else READ_BACK_CALLS
    calls = looks + capabilities.redeem_calls + READ_BACK_CALLS
    return calls * exchange + LEASE_MARGIN


# The most exchanges any back end's attempt makes: a token, a read and the write (Google
# Wallet), or a look and an update (Skycore, an update call), then a read-back of two.
MOST_CALLS = 5


def longest_possible_lease(exchange: float) -> float:
    """The longest lease any back end can need: what a drain must allow before the service
    knows which back ends it will serve (each one's lease is tested to fit)."""
    return MOST_CALLS * exchange + LEASE_MARGIN


def longest_lease(exchange: float, back_ends: Iterable[Capabilities]) -> float:
    """The longest lease any configured back end needs: how long a shutdown must drain, and how
    long claims wait after Redis lost its memory."""
    return max((lease(exchange, capabilities) for capabilities in back_ends), default=0.0)


@dataclass(frozen=True, slots=True)
class Policy:
    """The timings the use case follows (built from Settings by create_app)."""

    duplicate_window: float
    negative_window: float
    coalesce_wait: float
    exchange: float  # the deadline of one upstream exchange
    form_token_ttl: float
    receipt_ttl: float
    offer_cache_ttl: float
    source: str
    coupon_limit: CouponLimit = field(default_factory=CouponLimit)
    longest_lease: float = 0.0  # over every configured back end

    def lease_for(self, provider: Provider) -> float:
        return lease(self.exchange, provider.capabilities)

    def redeem_deadline(self, provider: Provider) -> float:
        """All of one redeem's calls (a token fetch and a read before the write included)."""
        return self.exchange * provider.capabilities.redeem_calls

    @property
    def read_deadline(self) -> float:
        return self.exchange * READ_BACK_CALLS

    @property
    def quarantine(self) -> float:
        """After Redis lost its memory, claims wait this long: attempts begun before the loss
        may still be applied until their leases would have ended."""
        return self.longest_lease

    @property
    def forgetful(self) -> float:
        """After Redis lost its memory, claims read back first for this long."""
        return self.longest_lease + self.duplicate_window
