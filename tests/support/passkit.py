"""PassKit's network boundary for tests: named respx routes over a small in-memory state.

Only the HTTP exchange is simulated (respx patches httpx's transport); the resolver's real
PassKit provider, JWT auth and error parsing run unchanged. Faults model what the reliability
rules are about: an answer lost after the redeem was applied, a refused connection, an error.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

import httpx

if TYPE_CHECKING:
    import respx

BASE_URL = "https://passkit.test"
COUPON_BY_EXTERNAL = (
    r"^/coupon/singleUse/coupon/externalId/(?P<campaign>[^/]+)/(?P<external>[^/]+)$"
)
OFFER = r"^/coupon/singleUse/offer/(?P<offer>[^/]+)$"
REDEEM = "/coupon/singleUse/coupon/redeem"

RedeemFault = Literal[
    "timeout_after_apply",  # applied, then the answer never arrives
    "timeout_apply_later",  # no answer; applied later, when the test says (`apply_pending`)
    "timeout",  # never applied, no answer
    "error_after_apply",  # applied, then 500
    "error",  # 503, nothing applied
    "connect_error",  # the request never left
    "unauthorized",  # 401
]


def rfc3339(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


@dataclass
class PassKitDouble:
    """Coupons and offers keyed as PassKit keys them, served through respx routes."""

    router: respx.MockRouter
    coupons: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    # Every coupon ever added, by id: a reissued link's older coupon stays here.
    by_id: dict[str, dict[str, Any]] = field(default_factory=dict)
    offers: dict[str, dict[str, Any]] = field(default_factory=dict)
    redeem_bodies: list[dict[str, Any]] = field(default_factory=list)
    redeem_fault: RedeemFault | None = None
    lookup_fault: Literal["timeout", "connect_error"] | None = None
    latency: float = 0.0
    # A back end without a single-use rule: a second redeem of a redeemed coupon answers 200.
    accept_repeats: bool = False
    # Redeems queued upstream and not applied yet (`timeout_apply_later`).
    pending: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._applied: dict[str, int] = {}
        self.router.get(path__regex=COUPON_BY_EXTERNAL, name="lookup").mock(
            side_effect=self._lookup
        )
        self.router.get(path__regex=OFFER, name="offer").mock(side_effect=self._offer)
        self.router.put(REDEEM, name="redeem").mock(side_effect=self._redeem)
        self.add_offer("offer-1")

    @property
    def redeem_calls(self) -> int:
        return int(self.router.routes["redeem"].call_count)

    @property
    def lookup_calls(self) -> int:
        return int(self.router.routes["lookup"].call_count)

    @property
    def calls(self) -> int:
        return len(self.router.calls)

    def add_offer(self, offer_id: str, **fields: Any) -> dict[str, Any]:
        offer = {
            "id": offer_id,
            "offerTitle": "Free coffee",
            "offerShortTitle": "Coffee",
            "offerDetails": "One regular coffee.",
            "offerFinePrint": "One per member.",
            "ianaTimezone": "Europe/Paris",
            "redemptionSettings": {},
            "disabled": False,
            **fields,
        }
        self.offers[offer_id] = offer
        return offer

    def add(
        self,
        external_id: str,
        campaign_id: str = "camp-1",
        *,
        status: str = "UNREDEEMED",
        expiry: datetime | None = None,
        redeemed_at: datetime | None = None,
        offer_id: str = "offer-1",
        display_name: str = "",
        issued: datetime | None = None,
        sku: str = "",
    ) -> dict[str, Any]:
        """A coupon holding `external_id` now (replacing any earlier one: a reissue)."""
        coupon = {
            "id": secrets.token_urlsafe(16)[:22],
            "externalId": external_id,
            "campaignId": campaign_id,
            "offerId": offer_id,
            "status": status,
            "expiryDate": rfc3339(expiry) if expiry else None,
            "redemptionDetails": {"redemptionDate": rfc3339(redeemed_at) if redeemed_at else None},
            "person": {"displayName": display_name},
            "created": rfc3339(issued or datetime.now(UTC)),
            "sku": sku,
        }
        earlier = self.coupons.get((campaign_id, external_id))
        if earlier is not None:  # PassKit moves the older coupon's external id away
            earlier["externalId"] = f"{external_id}-moved-{earlier['id'][:4]}"
        self.coupons[(campaign_id, external_id)] = coupon
        self.by_id[str(coupon["id"])] = coupon
        return coupon

    def add_expired(self, external_id: str, campaign_id: str = "camp-1") -> dict[str, Any]:
        return self.add(external_id, campaign_id, expiry=datetime.now(UTC) - timedelta(days=1))

    def apply_pending(self) -> None:
        """The upstream applies the redeems it had queued when their answers timed out."""
        for coupon in self.pending:
            coupon["status"] = "REDEEMED"
            self._applied[coupon["id"]] = self._applied.get(coupon["id"], 0) + 1
            coupon["redemptionDetails"] = {"redemptionDate": rfc3339(datetime.now(UTC))}
        self.pending.clear()

    @property
    def applied(self) -> dict[str, int]:
        """How many redeems each coupon (by id) took, repeats of an accepting back end included."""
        return dict(self._applied)

    def coupon(self, external_id: str, campaign_id: str = "camp-1") -> dict[str, Any]:
        return self.coupons[(campaign_id, external_id)]

    async def _lookup(self, request: httpx.Request, campaign: str, external: str) -> httpx.Response:
        if self.lookup_fault == "timeout":
            raise httpx.ReadTimeout("read timed out", request=request)
        if self.lookup_fault == "connect_error":
            raise httpx.ConnectError("refused", request=request)
        coupon = self.coupons.get((campaign, external))
        if coupon is None:
            return _error(404, 5, "coupon not found")
        return httpx.Response(200, json=coupon)

    async def _offer(self, request: httpx.Request, offer: str) -> httpx.Response:
        found = self.offers.get(offer)
        return httpx.Response(200, json=found) if found else _error(404, 5, "offer not found")

    async def _redeem(  # noqa: PLR0911, PLR0912  # one branch per fault
        self, request: httpx.Request
    ) -> httpx.Response:
        body = json.loads(request.content)
        self.redeem_bodies.append(body)
        if self.latency:
            await asyncio.sleep(self.latency)
        fault = self.redeem_fault
        if fault == "connect_error":
            raise httpx.ConnectError("refused", request=request)
        if fault == "unauthorized":
            return _error(401, 16, "unauthenticated")
        if fault in ("timeout", "error"):
            if fault == "timeout":
                raise httpx.ReadTimeout("read timed out", request=request)
            return _error(503, 14, "unavailable")
        if "id" in body:
            coupon = self.by_id.get(body["id"])
        else:
            coupon = self.coupons.get((body.get("campaignId"), body.get("externalId")))
        if coupon is None:
            return _error(404, 5, "coupon not found")
        if fault == "timeout_apply_later":
            self.pending.append(coupon)
            raise httpx.ReadTimeout("read timed out", request=request)
        if coupon["status"] == "REDEEMED" and not self.accept_repeats:
            return _error(400, 9, "coupon already redeemed")
        expiry = coupon["expiryDate"]
        if expiry and datetime.fromisoformat(expiry) <= datetime.now(UTC):
            return _error(400, 9, "coupon expired")
        offer = self.offers.get(coupon["offerId"], {})
        if offer.get("disabled"):
            return _error(400, 9, "offer disabled")
        ends = offer.get("issueEndDate")
        if ends and datetime.fromisoformat(ends) <= datetime.now(UTC):
            return _error(400, 9, "offer ended")
        coupon["status"] = "REDEEMED"
        self._applied[coupon["id"]] = self._applied.get(coupon["id"], 0) + 1
        coupon["redemptionDetails"] = {
            **body.get("redemptionDetails", {}),
            "redemptionDate": rfc3339(datetime.now(UTC)),
        }
        if fault == "timeout_after_apply":
            raise httpx.ReadTimeout("read timed out", request=request)
        if fault == "error_after_apply":
            return _error(500, 13, "internal")
        return httpx.Response(200, json={"id": coupon["id"]})


def _error(status: int, code: int, message: str) -> httpx.Response:
    return httpx.Response(status, json={"code": code, "message": message, "details": []})
