"""Passworks v2 coupons (docs/backends.md).

A permanent link names a Passworks coupon campaign (`campaignId`) and one of its passes (the pass
id as `externalId`). Passworks authenticates with HTTP Basic (API username : API key), redeems
with `POST /v2/coupons/{campaign}/passes/{pass}/redeem`, and shows the pass at
`GET /v2/coupons/{campaign}/passes/{pass}`: `redeemed_count`, `voided`, `expiration_date`.
Errors come as HTTP 412 with `{"errors": …}`, a map or a list.

What the docs leave open, and how it is read here:
- a second redeem of a pass is undocumented (the campaign flag `allow_multiple_redeems` defaults
  to false): every non-2xx redeem is raised as-is and settled by reading the pass back;
- redeeming sets the pass "void" (`reset_redeem` clears the flag): so `redeemed_count > 0` means
  redeemed, and `voided` with no redemption means the pass was withdrawn (no active coupon);
- the pass carries no redemption time, so `redeemed_at` stays unknown;
- "not found" comes as 412 (`{"errors": {"campaign": "Campaign not found."}}`) or 404: a read that
  gets either has no coupon;
- reading a campaign (`GET /v2/coupons/{campaign}`) is not shown in the docs: the offer is read
  from it when it answers, and is simply unknown when it does not.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import httpx

from resolver.domain.coupons import Coupon, Link, Offer
from resolver.domain.errors import UpstreamBadAnswer
from resolver.providers import reading
from resolver.providers.exchange import refusal, send
from resolver.redemption.ports import Capabilities, RedeemAnswer

if TYPE_CHECKING:
    from resolver.domain.redemptions import RedeemDetails

DEFAULT_BASE_URL = "https://api.passworks.io"
BACKEND = "Passworks"


class Passworks:
    """A `Provider` for one Passworks account's coupon campaigns."""

    capabilities = Capabilities(read_back=True, offers=True)

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        name: str,
        username: str,
        api_key: str,
        base_url: str = DEFAULT_BASE_URL,
    ) -> None:
        self._client = client
        self._base = base_url.rstrip("/")
        self._auth = httpx.BasicAuth(username, api_key)
        self.name = name

    async def lookup(self, link: Link) -> Coupon | None:
        response = await self._send("GET", _pass_path(link))
        if _missing(response):
            return None
        self._check(response)
        return parse_pass(_unwrap(reading.json_object(response), "pass"), link)

    async def offer(self, offer_id: str) -> Offer | None:
        response = await self._send("GET", f"/v2/coupons/{_segment(offer_id)}")
        if response.status_code in (401, 403):
            raise refusal(response, error_message(response))
        if not response.is_success:  # reading a campaign is undocumented: no offer, no error
            return None
        return parse_campaign(_unwrap(reading.json_object(response), "coupon"), offer_id)

    async def redeem(
        self, link: Link, details: RedeemDetails, *, coupon_id: str | None = None
    ) -> RedeemAnswer:
        # Coupons are named by the link here, so the link alone names the coupon to redeem.
        comment = " · ".join(part for part in (details.source, details.reference) if part)
        response = await self._send(
            "POST", f"{_pass_path(link)}/redeem", json={"pass": {"comment": comment}}
        )
        self._check(response)
        data: dict[str, Any] = {}
        if response.content:
            data = _unwrap(reading.json_object(response), "pass")
        if data.get("errors"):  # a success status carrying errors is not a clean success
            raise UpstreamBadAnswer(f"redeem answered {response.status_code} with errors")
        return RedeemAnswer(reading.as_text(data.get("id")) or link.external_id)

    async def _send(self, method: str, path: str, json: object = None) -> httpx.Response:
        return await send(
            self._client, method, self._base + path, backend=BACKEND, auth=self._auth, json=json
        )

    def _check(self, response: httpx.Response) -> None:
        if not response.is_success:
            raise refusal(response, error_message(response))


def error_message(response: httpx.Response) -> str:
    """Passworks' `errors`, a map (`field: text`) or a list of texts, else the raw body."""
    try:
        errors = response.json().get("errors")
    except (ValueError, AttributeError):
        errors = None
    if isinstance(errors, dict):
        parts = [f"{field}: {text}" for field, text in errors.items()]
    elif isinstance(errors, list):
        parts = [str(text) for text in errors]
    else:
        parts = []
    return "; ".join(parts)[: reading.MESSAGE_LIMIT] or reading.raw_text(response)


def parse_pass(data: dict[str, Any], link: Link) -> Coupon:
    """A Passworks pass in the resolver's terms (see the module docstring for `voided`)."""
    pass_id = reading.as_text(data.get("id"))
    if not pass_id:
        raise UpstreamBadAnswer("pass without an id")
    count = data.get("redeemed_count")
    redeemed = isinstance(count, int) and not isinstance(count, bool) and count > 0
    campaign = reading.as_text(data.get("campaign_id")) or link.campaign_id
    return Coupon(
        id=pass_id,
        campaign_id=campaign,
        external_id=link.external_id,
        offer_id=campaign,
        status="REDEEMED" if redeemed else "UNREDEEMED",
        expiry_date=parse_time(data.get("expiration_date")),
        invalidated=data.get("voided") is True and not redeemed,
    )


def parse_campaign(data: dict[str, Any], campaign_id: str) -> Offer:
    """A coupon campaign as the offer a page shows: its description, fields and expiry."""
    name = reading.as_text(data.get("name"))
    fields = [reading.as_object(field) for field in data.get("primary_fields") or []]
    details = " · ".join(
        " ".join(
            part
            for part in (reading.as_text(f.get("value")), reading.as_text(f.get("label")))
            if part
        )
        for f in fields
    )
    return Offer(
        id=reading.as_text(data.get("id")) or campaign_id,
        title=reading.as_text(data.get("description")) or name,
        short_title=name[:20],
        details=details,
        ends=parse_time(data.get("expiration_date")),
    )


def parse_time(value: object) -> datetime | None:
    """An ISO 8601 date or time; one without an offset is taken as UTC, as Passworks writes."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _missing(response: httpx.Response) -> bool:
    if response.status_code == 404:
        return True
    return response.status_code == 412 and "not found" in error_message(response).lower()


def _unwrap(data: dict[str, Any], root: str) -> dict[str, Any]:
    # Requests are wrapped in a root element ({"pass": {...}}); answers are shown bare. Accept both.
    inner = data.get(root)
    return inner if isinstance(inner, dict) and "id" not in data else data


def _pass_path(link: Link) -> str:
    return f"/v2/coupons/{_segment(link.campaign_id)}/passes/{_segment(link.external_id)}"


def _segment(value: str) -> str:
    return quote(value, safe="")
