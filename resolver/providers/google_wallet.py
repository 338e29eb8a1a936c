"""Google Wallet offer (or generic) objects, driven directly (docs/backends.md).

A permanent link names the class (`campaignId` = the class suffix) and the object (`externalId`
= the object suffix); Google's ids are `<issuerId>.<suffix>`. An object whose `classId` is not
the link's class is no coupon of this link. The object's `state` tells everything:
`ACTIVE` (redeemable), `COMPLETED` (redeemed), `EXPIRED`, `INACTIVE` (withdrawn); Google's
enums are accepted in either case. Objects carry no redemption time.

Redeeming is `PATCH {"state": "COMPLETED"}`, which Google applies however often it is sent: it
never refuses a second redeem. So the object is read first and only an `ACTIVE` one is
patched; anything else is a refusal naming the state (settled by the read-back). Errors come
as `{"error": {"code", "message", "status"}}`. Authentication is `GoogleServiceAccountAuth`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import quote

from resolver.domain.coupons import Coupon, CouponState, Link, Offer
from resolver.domain.errors import CouponRefused, UpstreamBadAnswer
from resolver.providers import reading
from resolver.providers.exchange import refusal, send
from resolver.redemption.ports import Capabilities, RedeemAnswer

if TYPE_CHECKING:
    import httpx

    from resolver.domain.redemptions import RedeemDetails

DEFAULT_BASE_URL = "https://walletobjects.googleapis.com/walletobjects/v1"
BACKEND = "Google Wallet"
ObjectType = Literal["offer", "generic"]
# What an object's state means before a redeem (ACTIVE is the only redeemable one).
REFUSED_STATES = {
    "completed": CouponState.ALREADY_REDEEMED,
    "expired": CouponState.EXPIRED,
    "inactive": CouponState.NO_ACTIVE_COUPON,
}


class GoogleWallet:
    """A `Provider` for one Google Wallet issuer's offer or generic objects."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        name: str,
        issuer_id: str,
        auth: httpx.Auth,
        object_type: ObjectType = "offer",
        base_url: str = DEFAULT_BASE_URL,
    ) -> None:
        self._client = client
        self._issuer = issuer_id
        self._auth = auth
        self._type = object_type
        self._base = base_url.rstrip("/")
        self.name = name
        # Offer classes carry a title, details and fine print; generic classes carry none.
        # A redeem reads the object, then PATCHes it, and may first fetch an access token.
        self.capabilities = Capabilities(
            read_back=True, offers=object_type == "offer", redeem_calls=3
        )

    async def lookup(self, link: Link) -> Coupon | None:
        found = await self._object(link)
        return None if found is None else parse_object(found, link)

    async def offer(self, offer_id: str) -> Offer | None:
        response = await self._send("GET", f"/{self._type}Class/{_segment(offer_id)}")
        if response.status_code == 404:
            return None
        if not response.is_success:
            raise refusal(response, error_message(response))
        return parse_offer_class(reading.json_object(response), offer_id)

    async def redeem(
        self, link: Link, details: RedeemDetails, *, coupon_id: str | None = None
    ) -> RedeemAnswer:
        # Coupons are named by the link here, so the link alone names the coupon to redeem.
        found = await self._object(link)
        if found is None:
            raise CouponRefused(404, "no such object", CouponState.NO_ACTIVE_COUPON)
        state = reading.as_text(found.get("state")).lower()
        if state in REFUSED_STATES:
            raise CouponRefused(409, f"object is {state}", REFUSED_STATES[state])
        response = await self._send("PATCH", self._object_path(link), json={"state": "COMPLETED"})
        if not response.is_success:
            raise refusal(response, error_message(response))
        patched = reading.json_object(response)
        if reading.as_text(patched.get("state")).lower() != "completed":
            raise UpstreamBadAnswer("PATCH answered without state COMPLETED")
        return RedeemAnswer(reading.as_text(patched.get("id")) or self._object_id(link))

    async def _object(self, link: Link) -> dict[str, Any] | None:
        response = await self._send("GET", self._object_path(link))
        if response.status_code == 404:
            return None
        if not response.is_success:
            raise refusal(response, error_message(response))
        found = reading.json_object(response)
        if reading.as_text(found.get("classId")) != f"{self._issuer}.{link.campaign_id}":
            return None  # another class's object: not a coupon of this link's campaign
        return found

    async def _send(self, method: str, path: str, json: object = None) -> httpx.Response:
        return await send(
            self._client, method, self._base + path, backend=BACKEND, auth=self._auth, json=json
        )

    def _object_id(self, link: Link) -> str:
        return f"{self._issuer}.{link.external_id}"

    def _object_path(self, link: Link) -> str:
        return f"/{self._type}Object/{_segment(self._object_id(link))}"


def error_message(response: httpx.Response) -> str:
    """Google's `{"error": {"message": …}}`, else the raw body."""
    try:
        error = reading.as_object(reading.as_object(response.json()).get("error"))
    except ValueError:
        error = {}
    return reading.as_text(error.get("message"))[: reading.MESSAGE_LIMIT] or reading.raw_text(
        response
    )


def parse_object(data: dict[str, Any], link: Link) -> Coupon:
    """An offer or generic object in the resolver's terms."""
    object_id = reading.as_text(data.get("id"))
    if not object_id:
        raise UpstreamBadAnswer("object without an id")
    state = reading.as_text(data.get("state")).lower()
    interval = reading.as_object(data.get("validTimeInterval"))
    return Coupon(
        id=object_id,
        campaign_id=link.campaign_id,
        external_id=link.external_id,
        offer_id=reading.as_text(data.get("classId")),
        status="REDEEMED" if state == "completed" else "UNREDEEMED",
        expiry_date=reading.parse_date(reading.as_object(interval.get("end")).get("date")),
        invalidated=state == "inactive",
        expired=state == "expired",
    )


def parse_offer_class(data: dict[str, Any], class_id: str) -> Offer:
    """An offer class as the page's offer: title, details, fine print, translations."""
    translations: dict[str, dict[str, str]] = {}
    for field, key in (("title", "localizedTitle"), ("details", "localizedDetails")):
        texts = {
            reading.as_text(item.get("language")).lower(): reading.as_text(item.get("value"))
            for item in map(
                reading.as_object, reading.as_object(data.get(key)).get("translatedValues") or []
            )
            if item.get("language")
        }
        if texts:
            translations[field] = texts
    title = reading.as_text(data.get("title"))
    interval = reading.as_object(data.get("validTimeInterval"))
    return Offer(
        id=class_id,
        title=title,
        short_title=title[:20],
        details=reading.as_text(data.get("details")),
        fine_print=reading.as_text(data.get("finePrint")),
        starts=reading.parse_date(reading.as_object(interval.get("start")).get("date")),
        ends=reading.parse_date(reading.as_object(interval.get("end")).get("date")),
        translations=translations,
    )


def _segment(value: str) -> str:
    return quote(value, safe="")
