"""PassKit calls an operator's tools make on an account, with every answer kept as it came.

`resolver check` reads campaigns and lists their offers; `resolver probe` creates, redeems,
reads and voids coupons it made itself. Unlike the `PassKit` provider, nothing here turns an
answer into a domain object or an error: the status and body are what these tools report.
Transport failures are classified as everywhere (`exchange.send`).

Paths are those of PassKit's generated gateway (its Go SDK, `a_rpc.pb.gw.go`):
`POST /coupon/singleUse/coupon` creates (a `Coupon` body, answers `{"id"}`),
`DELETE /coupon/singleUse/coupon` voids (a `Coupon` body naming it), and
`POST /coupon/singleUse/offers/list` (`{"campaignId", "filters"}`) streams a campaign's offers,
one `{"result": <offer>}` JSON object per line.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from resolver.providers import reading
from resolver.providers.exchange import send
from resolver.providers.passkit import COUPON, OFFER, error_message

if TYPE_CHECKING:
    import httpx

CAMPAIGN = "/coupon/singleUse/campaign"
LIST_OFFERS = "/coupon/singleUse/offers/list"
BACKEND = "PassKit"


@dataclass(frozen=True, slots=True)
class Answer:
    """One upstream answer: its status, its JSON object (or `{}`), and a short message."""

    method: str
    path: str
    status: int
    body: dict[str, Any] = field(default_factory=dict)
    message: str = ""
    # A streamed answer's objects (`{"result": …}` lines), unwrapped.
    items: tuple[dict[str, Any], ...] = ()

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


class PassKitAdmin:
    """An account's REST API at one base URL (a region's host) with its credentials."""

    def __init__(self, client: httpx.AsyncClient, *, base_url: str, auth: httpx.Auth) -> None:
        self._client = client
        self.base_url = base_url.rstrip("/")
        self._auth = auth

    async def campaign(self, campaign_id: str) -> Answer:
        return await self.call("GET", f"{CAMPAIGN}/{_segment(campaign_id)}")

    async def offer(self, offer_id: str) -> Answer:
        return await self.call("GET", f"{OFFER}/{_segment(offer_id)}")

    async def offers(self, campaign_id: str) -> Answer:
        """The campaign's offers (`items`), all of them (`limit: -1`)."""
        body = {"campaignId": campaign_id, "filters": {"limit": -1}}
        return await self.call("POST", LIST_OFFERS, body, stream=True)

    async def create_coupon(self, coupon: dict[str, Any]) -> Answer:
        return await self.call("POST", COUPON, coupon)

    async def redeem(self, coupon: dict[str, Any]) -> Answer:
        return await self.call("PUT", f"{COUPON}/redeem", coupon)

    async def coupon_by_id(self, coupon_id: str) -> Answer:
        return await self.call("GET", f"{COUPON}/{_segment(coupon_id)}")

    async def coupon_by_external_id(self, campaign_id: str, external_id: str) -> Answer:
        path = f"{COUPON}/externalId/{_segment(campaign_id)}/{_segment(external_id)}"
        return await self.call("GET", path)

    async def void(self, coupon: dict[str, Any]) -> Answer:
        return await self.call("DELETE", COUPON, coupon)

    async def call(
        self, method: str, path: str, body: dict[str, Any] | None = None, *, stream: bool = False
    ) -> Answer:
        """Send one request; the answer whatever its status (transport failures raise)."""
        response = await send(
            self._client, method, self.base_url + path, backend=BACKEND, auth=self._auth, json=body
        )
        ok = 200 <= response.status_code < 300
        if ok and stream:
            items, failure = _stream(response.text)
            return Answer(method, path, response.status_code, message=failure, items=items)
        return Answer(
            method=method,
            path=path,
            status=response.status_code,
            body=_object(response),
            message="" if ok else error_message(response),
        )


def _object(response: httpx.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        return {}
    return reading.as_object(data)


def _stream(text: str) -> tuple[tuple[dict[str, Any], ...], str]:
    """The objects of a grpc-gateway stream, `{"result": …}` per line, and the message of the
    `{"error": …}` line that ends a stream which failed midway ("" if none). A plain JSON list
    or object is read too, leniently."""
    items: list[dict[str, Any]] = []
    for line in text.splitlines():
        try:
            data = json.loads(line) if line.strip() else None
        except ValueError:
            continue
        if isinstance(data, list):
            items.extend(reading.as_object(item) for item in data)
        elif isinstance(data, dict):
            if "error" in data and "result" not in data:
                error = reading.as_object(data["error"])
                message = reading.as_text(error.get("message")) or "the stream ended in an error"
                return tuple(item for item in items if item), message[: reading.MESSAGE_LIMIT]
            items.append(reading.as_object(data.get("result", data)))
    return tuple(item for item in items if item), ""


def _segment(value: str) -> str:
    return quote(value, safe="")
