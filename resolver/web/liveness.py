"""Proof that a success screen is live, not a screenshot or a recording of an old one.

Staff glance at the phone for two seconds (docs/reliability.md). A live success screen shows
the server's redemption time, a clock ticking with seconds, continuous motion and a short code
derived from the receipt. For `RESOLVER_LIVE_SECONDS` after the redemption it is live; after
that the server renders it dimmed ("no longer live"), and a live page refreshes itself when the
period ends, so even a phone left open, or without JavaScript, stops looking live.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from datetime import datetime


@dataclass(frozen=True, slots=True)
class Liveness:
    """What the success screen needs to prove itself, computed when it is rendered."""

    redeemed_at: datetime | None
    now: datetime
    live_seconds: int
    code: str | None  # the receipt's verification code; None without a receipt

    @property
    def elapsed(self) -> timedelta:
        """Time since the redemption (never negative: the upstream's clock may run ahead)."""
        if self.redeemed_at is None:
            return timedelta(0)
        return max(self.now - self.redeemed_at, timedelta(0))

    @property
    def live(self) -> bool:
        """True within the live period; a success without a known time is never live."""
        return self.redeemed_at is not None and self.elapsed < timedelta(seconds=self.live_seconds)

    @property
    def refresh_after(self) -> int:
        """Seconds until the page must reload to be rendered dimmed (a second late, not early)."""
        left = self.live_seconds - self.elapsed.total_seconds()
        return max(math.ceil(left), 0) + 1
