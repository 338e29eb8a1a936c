"""The sandbox's admin API as the end-to-end tests use it: coupons, reissues, faults, stats."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import httpx

OFFER = "e2e-offer"


@dataclass(frozen=True, slots=True)
class Tally:
    """The redeem calls one coupon received, and how many of them redeemed it."""

    calls: int
    applied: int


class Upstream:
    """A client of one running sandbox's `/_sandbox/` API."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    @property
    def url(self) -> str:
        return str(self.client.base_url).rstrip("/")

    async def coupons(self, campaign: str, prefix: str, count: int) -> dict[str, str]:
        """Make `count` unredeemed coupons `prefix0..`; answers coupon id by external id."""
        expiry = (datetime.now(UTC) + timedelta(days=1)).isoformat().replace("+00:00", "Z")
        body = {
            "count": count,
            "campaignId": campaign,
            "externalIdPrefix": prefix,
            "offerId": OFFER,
            "expiryDate": expiry,
        }
        made = await self._call("POST", "/_sandbox/coupons", body, expect=201)
        return {coupon["externalId"]: coupon["id"] for coupon in made["coupons"]}

    async def reissue(self, campaign: str, external_id: str) -> str:
        """Give `external_id` a new unredeemed coupon; answers its id."""
        path = f"/_sandbox/coupons/{campaign}/{external_id}/reissue"
        coupon = await self._call("POST", path, {}, expect=201)
        return str(coupon["id"])

    async def slow_redeems(self, latency_ms: float, *, accept_repeats: bool = False) -> None:
        """Delay every redeem call by `latency_ms` (reads stay fast); with `accept_repeats`, a
        second redeem of a redeemed coupon is applied again, as a back end without a
        single-use rule would."""
        faults = {"latencyMs": latency_ms, "scope": "redeem", "acceptRepeats": accept_repeats}
        await self._call("PUT", "/_sandbox/faults", faults)

    async def tallies(self) -> dict[str, Tally]:
        """Redeem calls per coupon id, from `/_sandbox/stats`."""
        stats = await self._call("GET", "/_sandbox/stats")
        return {
            coupon_id: Tally(tally["count"], tally["applied"])
            for coupon_id, tally in stats["coupons"].items()
        }

    async def redeem_calls(self) -> int:
        """Every redeem call the sandbox received, for any coupon or none."""
        stats = await self._call("GET", "/_sandbox/stats")
        return int(stats["endpoints"].get("PUT /coupon/singleUse/coupon/redeem", 0))

    async def reset(self) -> None:
        """No coupons, no stats, no faults."""
        await self._call("POST", "/_sandbox/reset", {"empty": True})

    async def _call(
        self, method: str, path: str, body: object = None, *, expect: int = 200
    ) -> dict[str, Any]:
        response = await self.client.request(method, path, json=body)
        assert response.status_code == expect, response.text
        answer: dict[str, Any] = response.json()
        return answer
