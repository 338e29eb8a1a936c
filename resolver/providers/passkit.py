"""PassKit's single-use coupon REST API (docs/backends.md).

The client it receives carries the base URL, the auth and the timeouts; this module only knows
paths, JSON shapes and how to read PassKit's answers leniently. PassKit's answer for redeeming a
coupon that is already redeemed is undocumented, so every non-200 redeem answer is raised as-is
and the use case settles it by reading the coupon back.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from resolver.domain.coupons import Coupon, CouponStatus, Link, Offer
from resolver.domain.errors import UpstreamBadAnswer
from resolver.providers.exchange import (
    MESSAGE_LIMIT,
    as_object,
    as_text,
    json_object,
    raw_text,
    refusal,
    send,
)
from resolver.redemption.ports import Capabilities, RedeemAnswer

if TYPE_CHECKING:
    import httpx

    from resolver.domain.redemptions import RedeemDetails

COUPON = "/coupon/singleUse/coupon"
OFFER = "/coupon/singleUse/offer"
# gRPC's zero timestamp is how an unset date may come back.
ZERO_DATES = ("0001-01-01T00:00:00Z", "1970-01-01T00:00:00Z")


class PassKit:
    """A `Provider` for PassKit single-use coupons.

    With only a client, it uses the client's base URL and auth (the single-provider settings).
    An account of a campaigns file brings its own `base_url`, `auth` and `name`, so several
    accounts share the process's one client.
    """

    capabilities = Capabilities(read_back=True, offers=True)

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        base_url: str = "",
        auth: httpx.Auth | None = None,
        name: str = "passkit",
    ) -> None:
        self._client = client
        self._base = base_url.rstrip("/")
        self._auth = auth
        self.name = name

    async def lookup(self, link: Link) -> Coupon | None:
        path = f"{COUPON}/externalId/{_segment(link.campaign_id)}/{_segment(link.external_id)}"
        response = await self._send("GET", path)
        if response.status_code == 404:
            return None
        return parse_coupon(json_object(response))

    async def offer(self, offer_id: str) -> Offer | None:
        response = await self._send("GET", f"{OFFER}/{_segment(offer_id)}")
        if response.status_code == 404:
            return None
        return parse_offer(json_object(response))

    async def redeem(
        self, link: Link, details: RedeemDetails, *, coupon_id: str | None = None
    ) -> RedeemAnswer:
        redemption: dict[str, Any] = {"redemptionSource": details.source}
        if details.reference:
            redemption["redemptionReference"] = details.reference
        if details.metadata:
            redemption["metaData"] = details.metadata
        if details.lat is not None and details.lon is not None:
            redemption["lat"], redemption["lon"] = details.lat, details.lon
        # By id when the member confirmed a particular coupon: if the external id has moved to
        # a coupon issued since, PassKit refuses the old one instead of redeeming the new one.
        target = (
            {"id": coupon_id}
            if coupon_id
            else {"externalId": link.external_id, "campaignId": link.campaign_id}
        )
        body = {**target, "redemptionDetails": redemption}
        response = await self._send("PUT", f"{COUPON}/redeem", body, allow_404=False)
        coupon_id = json_object(response).get("id")
        if not isinstance(coupon_id, str) or not coupon_id:
            raise UpstreamBadAnswer("redeem answered 200 without a coupon id")
        return RedeemAnswer(coupon_id)

    async def _send(
        self, method: str, path: str, body: dict[str, Any] | None = None, *, allow_404: bool = True
    ) -> httpx.Response:
        response = await send(
            self._client, method, self._base + path, backend="PassKit", auth=self._auth, json=body
        )
        status = response.status_code
        if status == 200 or (status == 404 and allow_404):
            return response
        raise refusal(response, error_message(response))


def error_message(response: httpx.Response) -> str:
    """PassKit's error text: `message`, else the older `error`, else the raw body (trimmed)."""
    try:
        data = response.json()
    except ValueError:
        data = None
    if isinstance(data, dict):
        for key in ("message", "error"):
            if isinstance(data.get(key), str) and data[key]:
                return str(data[key])[:MESSAGE_LIMIT]
    return raw_text(response)


def parse_coupon(data: dict[str, Any]) -> Coupon:
    """A PassKit `Coupon` JSON object in the resolver's terms (lenient about unset fields)."""
    coupon_id = data.get("id")
    if not isinstance(coupon_id, str) or not coupon_id:
        raise UpstreamBadAnswer("coupon without an id")
    details = as_object(data.get("redemptionDetails"))
    redeemed_at = parse_date(details.get("redemptionDate"))
    status: CouponStatus = "REDEEMED" if data.get("status") == "REDEEMED" else "UNREDEEMED"
    person = as_object(data.get("person"))
    name = as_text(person.get("displayName")) or " ".join(
        part for part in (as_text(person.get("forename")), as_text(person.get("surname"))) if part
    )
    return Coupon(
        id=coupon_id,
        campaign_id=as_text(data.get("campaignId")),
        external_id=as_text(data.get("externalId")),
        offer_id=as_text(data.get("offerId")),
        status=status,
        expiry_date=parse_date(data.get("expiryDate")),
        redeemed_at=redeemed_at,
        redeemed_via=as_text(details.get("redemptionSource")) or None,
        display_name=name or None,
        invalidated=as_object(data.get("passMetaData")).get("status") == "PASS_INVALIDATED",
    )


def parse_offer(data: dict[str, Any]) -> Offer:
    """A PassKit `CouponOffer` JSON object in the resolver's terms."""
    settings = as_object(data.get("redemptionSettings"))
    translations: dict[str, dict[str, str]] = {}
    for field, key in (
        ("title", "localizedOfferTitle"),
        ("short_title", "localizedOfferShortTitle"),
        ("details", "localizedOfferDetails"),
        ("fine_print", "localizedOfferFinePrint"),
    ):
        texts = as_object(as_object(data.get(key)).get("translations"))
        if texts:
            translations[field] = {str(lang): as_text(text) for lang, text in texts.items()}
    return Offer(
        id=as_text(data.get("id")),
        title=as_text(data.get("offerTitle")),
        short_title=as_text(data.get("offerShortTitle")),
        details=as_text(data.get("offerDetails")),
        fine_print=as_text(data.get("offerFinePrint")),
        timezone=as_text(data.get("ianaTimezone")) or None,
        starts=parse_date(settings.get("redemptionStartDate")),
        ends=parse_date(settings.get("redemptionEndDate")),
        disabled=data.get("disabled") is True,
        translations=translations,
    )


def parse_date(value: object) -> datetime | None:
    """An RFC 3339 timestamp, or None for unset, zero or unreadable values."""
    if not isinstance(value, str) or not value or value in ZERO_DATES:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None and parsed.year > 1970 else None


def _segment(value: str) -> str:
    return quote(value, safe="")
