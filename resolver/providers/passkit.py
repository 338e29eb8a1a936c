"""PassKit's single-use coupon REST API (docs/backends.md).

The client it receives carries the base URL, the auth and the timeouts; this module only knows
paths, JSON shapes and how to read PassKit's answers leniently. PassKit's answer for redeeming a
coupon that is already redeemed is undocumented, so every non-200 redeem answer is raised as-is
and the use case settles it by reading the coupon back.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from resolver.domain.coupons import Coupon, CouponStatus, Link, Offer
from resolver.domain.errors import UpstreamBadAnswer
from resolver.domain.expiry import ExpiryType
from resolver.providers import reading
from resolver.providers.exchange import refusal, send
from resolver.providers.passkit_hosted import parse_hosted
from resolver.redemption.ports import Capabilities, RedeemAnswer

if TYPE_CHECKING:
    import httpx

    from resolver.domain.redemptions import RedeemDetails

COUPON = "/coupon/singleUse/coupon"
OFFER = "/coupon/singleUse/offer"
# More days than any offer lasts: a larger number is a mistake, not a setting.
MAX_DAYS = 36_600


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
        return parse_coupon(reading.json_object(response))

    async def offer(self, offer_id: str) -> Offer | None:
        response = await self._send("GET", f"{OFFER}/{_segment(offer_id)}")
        if response.status_code == 404:
            return None
        return parse_offer(reading.json_object(response))

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
        till = details.till
        if till.code:
            redemption["redemptionCode"] = till.code
        if till.transaction_reference:
            redemption["transactionReference"] = till.transaction_reference
        if till.transaction_amount is not None:
            # A protobuf double: a JSON number (at most 2 decimal places, so it is exact enough).
            redemption["transactionAmount"] = float(till.transaction_amount)
        # By id when the member confirmed a particular coupon: if the external id has moved to
        # a coupon issued since, PassKit refuses the old one instead of redeeming the new one.
        target = (
            {"id": coupon_id}
            if coupon_id
            else {"externalId": link.external_id, "campaignId": link.campaign_id}
        )
        body = {**target, "redemptionDetails": redemption}
        response = await self._send("PUT", f"{COUPON}/redeem", body, allow_404=False)
        coupon_id = reading.json_object(response).get("id")
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
                return str(data[key])[: reading.MESSAGE_LIMIT]
    return reading.raw_text(response)


def parse_coupon(data: dict[str, Any]) -> Coupon:
    """A PassKit `Coupon` JSON object in the resolver's terms (lenient about unset fields)."""
    coupon_id = data.get("id")
    if not isinstance(coupon_id, str) or not coupon_id:
        raise UpstreamBadAnswer("coupon without an id")
    details = reading.as_object(data.get("redemptionDetails"))
    redeemed_at = reading.parse_date(details.get("redemptionDate"))
    status: CouponStatus = "REDEEMED" if data.get("status") == "REDEEMED" else "UNREDEEMED"
    person = reading.as_object(data.get("person"))
    name = reading.as_text(person.get("displayName")) or " ".join(
        part
        for part in (
            reading.as_text(person.get("forename")),
            reading.as_text(person.get("surname")),
        )
        if part
    )
    return Coupon(
        id=coupon_id,
        campaign_id=reading.as_text(data.get("campaignId")),
        external_id=reading.as_text(data.get("externalId")),
        offer_id=reading.as_text(data.get("offerId")),
        status=status,
        expiry_date=reading.parse_date(data.get("expiryDate")),
        redeemed_at=redeemed_at,
        redeemed_via=reading.as_text(details.get("redemptionSource")) or None,
        display_name=name or None,
        invalidated=reading.as_object(data.get("passMetaData")).get("status") == "PASS_INVALIDATED",
        issued_at=reading.parse_date(data.get("created")),
        sku=reading.as_text(data.get("sku")),
    )


def parse_offer(data: dict[str, Any]) -> Offer:
    """A PassKit `CouponOffer` JSON object in the resolver's terms."""
    settings = reading.as_object(data.get("redemptionSettings"))
    translations: dict[str, dict[str, str]] = {}
    for field, key in (
        ("title", "localizedOfferTitle"),
        ("short_title", "localizedOfferShortTitle"),
        ("details", "localizedOfferDetails"),
        ("fine_print", "localizedOfferFinePrint"),
    ):
        texts = reading.as_object(reading.as_object(data.get(key)).get("translations"))
        if texts:
            translations[field] = {str(lang): reading.as_text(text) for lang, text in texts.items()}
    expiry = reading.as_object(data.get("couponExpirySettings"))
    days = _count(expiry.get("expireAfterXDays"))
    issue_starts = reading.parse_date(data.get("issueStartDate"))
    issue_ends = reading.parse_date(data.get("issueEndDate"))
    return Offer(
        id=reading.as_text(data.get("id")),
        title=reading.as_text(data.get("offerTitle")),
        short_title=reading.as_text(data.get("offerShortTitle")),
        details=reading.as_text(data.get("offerDetails")),
        fine_print=reading.as_text(data.get("offerFinePrint")),
        timezone=reading.as_text(data.get("ianaTimezone")) or None,
        # The redemption window defaults to the issue dates.
        starts=reading.parse_date(settings.get("redemptionStartDate")) or issue_starts,
        ends=reading.parse_date(settings.get("redemptionEndDate")) or issue_ends,
        disabled=data.get("disabled") is True,
        expiry_type=ExpiryType.read(expiry.get("couponExpiryType")),
        issue_ends=issue_ends,
        expire_after_days=days if 0 < days <= MAX_DAYS else 0,
        translations=translations,
        hosted=parse_hosted(settings),
    )


def _count(value: object) -> int:
    """A whole number sent as a JSON number or (as protobuf JSON may) a string; 0 otherwise."""
    if isinstance(value, bool):
        return 0
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdecimal():
        return int(value)
    return 0


def _segment(value: str) -> str:
    return quote(value, safe="")
