"""The PassKit calls that create and void coupons and list a campaign's offers, and PassKit's
other region.

    POST   /coupon/singleUse/coupon        create a coupon from a `Coupon` body: {"id": …}
    DELETE /coupon/singleUse/coupon        void the coupon a body names by `id`, or by
                                           `externalId` and `campaignId`: {}
    POST   /coupon/singleUse/offers/list   a campaign's offers, `{"campaignId", "filters"}`,
                                           streamed as grpc-gateway streams: one
                                           `{"result": <offer>}` object per line
    *      /_region/{region}/…             PassKit's other region (see `foreign_region`)

Paths and verbs follow PassKit's generated gateway (`CreateCoupon`, `VoidCoupon`,
`ListCouponOffers`). A voided coupon stays readable by its id with
`passMetaData.status = PASS_INVALIDATED` and frees its external id, so a read by external id
answers 404 (what PassKit does is undocumented; the resolver treats both as "no coupon").

An account lives in exactly one PassKit region. The sandbox serves one (the paths above, at
its root); under `/_region/{region}/` it answers as another region would for this account: the
credentials authenticate and every object is missing (404). A test points a region's host at
`<sandbox>/_region/us` to show a campaign that exists in the other region, and at the root to
show one that exists nowhere.
"""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING

from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from resolver_sandbox import payloads
from resolver_sandbox.errors import BadRequest, GrpcCode, SandboxError, error_response
from resolver_sandbox.payloads import CouponSpec

if TYPE_CHECKING:
    from collections.abc import Callable

    from starlette.requests import Request

    from resolver_sandbox.auth import Authenticator
    from resolver_sandbox.payloads import Body
    from resolver_sandbox.state import SandboxState

    # What an endpoint does with a request's body once it is authenticated.
    Handler = Callable[[Body], Response]

COUPON = "/coupon/singleUse/coupon"
LIST_OFFERS = "/coupon/singleUse/offers/list"
FOREIGN_REGION = "/_region/{region}/{rest:path}"


class PassKitWrites:
    """Create, void and list-offers endpoints over one `SandboxState`, and the other region."""

    def __init__(self, state: SandboxState, auth: Authenticator, *, latency_ms: float) -> None:
        self._state = state
        self._auth = auth
        self._baseline_s = latency_ms / 1000.0

    def routes(self) -> list[Route]:
        """The routes (none of them shadows a read route of `PassKitApi`)."""
        return [
            Route(COUPON, self.create_coupon, methods=["POST"]),
            Route(COUPON, self.void_coupon, methods=["DELETE"]),
            Route(LIST_OFFERS, self.list_offers, methods=["POST"]),
            Route(FOREIGN_REGION, self.foreign_region, methods=["GET", "POST", "PUT", "DELETE"]),
        ]

    async def create_coupon(self, request: Request) -> Response:
        """A new coupon for an existing offer of the campaign; 409 when the external id is held."""

        def create(body: Body) -> Response:
            spec = _coupon(body)
            offer = self._state.offers.get(spec.offer_id)
            if offer is None or offer.campaign_id != spec.campaign_id:
                return error_response(GrpcCode.NOT_FOUND, "offer not found in campaign")
            (coupon,) = self._state.create_coupons([spec])
            return JSONResponse({"id": coupon.id})

        return await self._answer(request, "POST " + COUPON, create)

    async def void_coupon(self, request: Request) -> Response:
        """Void the coupon the body names: invalidated, its external id free again."""

        def void(body: Body) -> Response:
            target = payloads.redeem_target(body)
            coupon = self._state.find(target)
            if coupon is None:
                return error_response(GrpcCode.NOT_FOUND, "coupon not found")
            self._state.void(coupon)
            return JSONResponse({})

        return await self._answer(request, "DELETE " + COUPON, void)

    async def list_offers(self, request: Request) -> Response:
        """Every offer of the campaign, one `{"result": …}` line each (a server stream)."""

        def offers(body: Body) -> Response:
            campaign_id = payloads.required_string(body, "campaignId")
            if campaign_id not in self._state.campaigns:
                return error_response(GrpcCode.NOT_FOUND, "campaign not found")
            lines = [
                json.dumps({"result": offer.to_json()})
                for offer in self._state.offers.values()
                if offer.campaign_id == campaign_id
            ]
            return Response("".join(line + "\n" for line in lines), media_type="application/json")

        return await self._answer(request, "POST " + LIST_OFFERS, offers)

    async def foreign_region(self, request: Request) -> Response:
        """PassKit's other region: these credentials authenticate, and nothing exists there."""
        stats = self._state.stats
        stats.count_call(f"{request.method} {FOREIGN_REGION}")
        response = self._refuse(request) or error_response(GrpcCode.NOT_FOUND, "not found")
        stats.count_status(response.status_code)
        return response

    async def _answer(self, request: Request, endpoint: str, handle: Handler) -> Response:
        """Count the call, authenticate it, delay it, and hand its body to `handle`."""
        stats = self._state.stats
        stats.count_call(endpoint)
        response = self._refuse(request)
        if response is None:
            if self._baseline_s > 0:
                await asyncio.sleep(self._baseline_s)
            try:
                response = handle(payloads.decode_object(await request.body()))
            except SandboxError as error:
                response = error_response(error.code, error.message)
        stats.count_status(response.status_code)
        return response

    def _refuse(self, request: Request) -> Response | None:
        refusal = self._auth.refusal(request.headers.get("authorization"))
        return None if refusal is None else error_response(GrpcCode.UNAUTHENTICATED, refusal)


def _coupon(body: Body) -> CouponSpec:
    """A create body, read leniently as grpc-gateway does (unknown fields are dropped)."""
    external_id = payloads.string(body, "externalId")
    if not external_id:
        raise BadRequest("externalId is required (the sandbox finds coupons by it)")
    return CouponSpec(
        campaign_id=payloads.required_string(body, "campaignId"),
        external_id=external_id,
        offer_id=payloads.required_string(body, "offerId"),
        expiry_date=payloads.timestamp(body, "expiryDate"),
        sku=payloads.string(body, "sku"),
        meta_data=payloads.string_map(body, "metaData"),
    )
