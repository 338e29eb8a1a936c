"""Call statistics: what end-to-end tests assert "exactly one redeem call per coupon" against."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from resolver_sandbox.records import JSONObject


class Redeemable(Protocol):
    """What the stats need of a coupon, a pass or an object of any simulated API."""

    @property
    def id(self) -> str: ...

    @property
    def campaign_id(self) -> str: ...

    @property
    def external_id(self) -> str: ...


@dataclass(slots=True)
class RedeemTally:
    """The redeem calls one coupon received, and how many of them flipped it to REDEEMED."""

    campaign_id: str
    external_id: str
    api: str = "passkit"
    count: int = 0
    applied: int = 0

    def to_json(self) -> JSONObject:
        """The tally as the stats endpoint shows it."""
        return {
            "api": self.api,
            "campaignId": self.campaign_id,
            "externalId": self.external_id,
            "count": self.count,
            "applied": self.applied,
        }


class CallStats:
    """Counts calls per endpoint, per answered status and, for redeem, per coupon.

    PassKit coupons are tallied under their id; the other simulated APIs' under `api:id`
    ("passworks:<pass id>"), so ids of different APIs never meet.

    Every call that reaches a PassKit handler counts, refused and fault-hit ones included: a
    client that redeems twice must show up as two calls even when the second one was refused.
    """

    def __init__(self) -> None:
        self.endpoints: dict[str, int] = {}
        self.statuses: dict[int, int] = {}
        self.redeems: dict[str, RedeemTally] = {}
        # Redeem calls naming no coupon the sandbox has (answered 404).
        self.unmatched_redeems = 0

    def count_call(self, endpoint: str) -> None:
        """One call reached `endpoint` ("PUT /coupon/singleUse/coupon/redeem")."""
        self.endpoints[endpoint] = self.endpoints.get(endpoint, 0) + 1

    def count_status(self, status: int) -> None:
        """One PassKit call was answered with HTTP `status`."""
        self.statuses[status] = self.statuses.get(status, 0) + 1

    def count_redeem(self, coupon: Redeemable | None, api: str = "passkit") -> None:
        """One redeem call named `coupon` (None: a coupon the sandbox does not have)."""
        if coupon is None:
            self.unmatched_redeems += 1
            return
        self._tally(coupon, api).count += 1

    def count_applied(self, coupon: Redeemable, api: str = "passkit") -> None:
        """A redeem call flipped `coupon` to redeemed."""
        self._tally(coupon, api).applied += 1

    def redeem_calls(self, coupon_id: str, api: str = "passkit") -> int:
        """How many redeem calls named the coupon with id `coupon_id`."""
        tally = self.redeems.get(_tally_key(coupon_id, api))
        return 0 if tally is None else tally.count

    def clear(self) -> None:
        """Forget every count."""
        self.endpoints.clear()
        self.statuses.clear()
        self.redeems.clear()
        self.unmatched_redeems = 0

    def to_json(self) -> JSONObject:
        """The counts as the `/_sandbox/stats` endpoint shows them."""
        return {
            "calls": sum(self.endpoints.values()),
            "endpoints": dict(self.endpoints),
            "statuses": {str(status): count for status, count in sorted(self.statuses.items())},
            "coupons": {coupon_id: tally.to_json() for coupon_id, tally in self.redeems.items()},
            "unmatchedRedeems": self.unmatched_redeems,
        }

    def _tally(self, coupon: Redeemable, api: str) -> RedeemTally:
        key = _tally_key(coupon.id, api)
        tally = self.redeems.get(key)
        if tally is None:
            tally = self.redeems[key] = RedeemTally(coupon.campaign_id, coupon.external_id, api)
        return tally


def _tally_key(coupon_id: str, api: str) -> str:
    return coupon_id if api == "passkit" else f"{api}:{coupon_id}"
