"""The sandbox's own API under `/_sandbox/`: make coupons and offers, read stats, set faults.

    POST   /_sandbox/coupons          one coupon {"campaignId", "externalId", "offerId"?,
                                      "expiryDate"?, "status"?, "person"?, ...} (201, the coupon);
                                      or {"coupons": [...]}; or {"count": N, "campaignId",
                                      "externalIdPrefix": P, ...} making P0..P{N-1} (201, ids)
    GET    /_sandbox/coupons          every coupon, or those of ?campaignId=
    POST   /_sandbox/coupons/{campaignId}/{externalId}/reissue
                                      a new coupon takes the external id (201, the coupon)
    POST   /_sandbox/offers           create (201) or replace (200) an offer
    POST   /_sandbox/campaigns        create (201) or rename (200) a campaign
    GET    /_sandbox/stats            PassKit calls per endpoint, per status and per coupon
    POST   /_sandbox/reset            back to the demo seed, or {"empty": true} for nothing (and
                                      whoever runs the sandbox may forget with it: `on_reset`)
    GET|PUT|DELETE /_sandbox/faults   read, replace or clear the faults (see `faults`)

No authentication: the sandbox holds only test data. Every body and answer is JSON; refusals
use the same `{"code", "message", "details"}` shape as the PassKit endpoints. Unknown campaigns
and offers named by a coupon are created on the fly, so a test can make a coupon in one call.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse
from starlette.routing import Route

from resolver_sandbox import payloads
from resolver_sandbox.errors import BadRequest
from resolver_sandbox.faults import FaultConfig

if TYPE_CHECKING:
    from collections.abc import Callable

    from starlette.requests import Request

    from resolver_sandbox.payloads import Body, CouponSpec
    from resolver_sandbox.records import Coupon, JSONObject
    from resolver_sandbox.state import SandboxState

PREFIX = "/_sandbox"
# Enough for any load test; a typo of a few zeros should not eat the machine's memory.
MAX_BULK_COUNT = 1_000_000
_COUNT_FIELDS = frozenset({"count", "externalIdPrefix"})


class AdminApi:
    """The `/_sandbox/` endpoints over one `SandboxState`.

    `on_reset`, when given, runs after every reset (in a thread: it may do blocking I/O).
    """

    def __init__(self, state: SandboxState, on_reset: Callable[[], None] | None = None) -> None:
        self._state = state
        self._on_reset = on_reset

    def routes(self) -> list[Route]:
        """The admin routes."""
        return [
            Route(f"{PREFIX}/coupons", self.create_coupons, methods=["POST"]),
            Route(f"{PREFIX}/coupons", self.list_coupons, methods=["GET"]),
            Route(
                f"{PREFIX}/coupons/{{campaignId}}/{{externalId}}/reissue",
                self.reissue,
                methods=["POST"],
            ),
            Route(f"{PREFIX}/offers", self.put_offer, methods=["POST"]),
            Route(f"{PREFIX}/campaigns", self.put_campaign, methods=["POST"]),
            Route(f"{PREFIX}/stats", self.stats, methods=["GET"]),
            Route(f"{PREFIX}/reset", self.reset, methods=["POST"]),
            Route(f"{PREFIX}/faults", self.faults, methods=["GET", "PUT", "DELETE"]),
        ]

    async def create_coupons(self, request: Request) -> JSONResponse:
        """One coupon (answers it whole), or a batch (answers ids and external ids)."""
        body = await _body(request)
        if "coupons" in body:
            if set(body) != {"coupons"}:
                raise BadRequest('a "coupons" batch takes no other fields')
            items = body["coupons"]
            if not isinstance(items, list):
                raise BadRequest("coupons must be a list")
            specs = [payloads.coupon_spec(payloads.as_object(item, "coupon")) for item in items]
            return _batch(self._state.create_coupons(specs))
        if "count" in body:
            return _batch(self._state.create_coupons(_generated(body)))
        (coupon,) = self._state.create_coupons([payloads.coupon_spec(body)])
        return JSONResponse(coupon.to_json(), status_code=201)

    async def list_coupons(self, request: Request) -> JSONResponse:
        """Every coupon, or those of `?campaignId=`, invalidated ones included."""
        coupons = self._state.coupons_in(request.query_params.get("campaignId"))
        return JSONResponse({"coupons": [coupon.to_json() for coupon in coupons]})

    async def reissue(self, request: Request) -> JSONResponse:
        """A new coupon takes over the external id; the old one is invalidated, still readable."""
        body = await _body(request)
        params = request.path_params
        spec = payloads.reissue_spec(body, params["campaignId"], params["externalId"])
        inherit = {"person", "sku", "metaData"} - body.keys()
        coupon = self._state.reissue(spec, inherit=inherit)
        return JSONResponse(coupon.to_json(), status_code=201)

    async def put_offer(self, request: Request) -> JSONResponse:
        """Create or replace an offer (201 when new, 200 when replaced)."""
        offer = payloads.offer(await _body(request), self._state.clock())
        created = self._state.put_offer(offer)
        return JSONResponse(
            self._state.offers[offer.id].to_json(), status_code=201 if created else 200
        )

    async def put_campaign(self, request: Request) -> JSONResponse:
        """Create a campaign or change its name and time zone."""
        body = await _body(request)
        payloads.reject_unknown(body, payloads.CAMPAIGN_FIELDS, "campaign")
        campaign_id = payloads.required_string(body, "id")
        created = campaign_id not in self._state.campaigns
        campaign = self._state.put_campaign(
            campaign_id,
            name=payloads.string(body, "name"),
            iana_timezone=payloads.string(body, "ianaTimezone"),
        )
        return JSONResponse(campaign.to_json(), status_code=201 if created else 200)

    async def stats(self, request: Request) -> JSONResponse:
        """Calls per endpoint and status, and redeem calls per coupon."""
        return JSONResponse(self._state.stats.to_json())

    async def reset(self, request: Request) -> JSONResponse:
        """Back to the demo seed, or to nothing with `{"empty": true}`; stats and faults cleared."""
        body = await _body(request)
        payloads.reject_unknown(body, frozenset({"empty"}), "reset")
        self._state.reset(empty=payloads.boolean(body, "empty"))
        if self._on_reset is not None:
            await run_in_threadpool(self._on_reset)
        return JSONResponse(self._summary())

    async def faults(self, request: Request) -> JSONResponse:
        """Read (GET), replace (PUT) or clear (DELETE) the faults in force."""
        faults = self._state.faults
        if request.method == "PUT":
            faults.configure(FaultConfig.from_json(await _body(request)))
        elif request.method == "DELETE":
            faults.clear()
        return JSONResponse({**faults.config.to_json(), "hung": faults.hung})

    def _summary(self) -> JSONObject:
        state = self._state
        return {
            "campaigns": len(state.campaigns),
            "offers": len(state.offers),
            "coupons": len(state.coupons),
        }


async def _body(request: Request) -> Body:
    return payloads.decode_object(await request.body())


def _generated(body: Body) -> list[CouponSpec]:
    """The coupons of `{"count": N, "externalIdPrefix": P, ...}`: P0 .. P{N-1}, alike otherwise."""
    count = body["count"]
    if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= MAX_BULK_COUNT:
        raise BadRequest(f"count must be a whole number from 0 to {MAX_BULK_COUNT}")
    prefix = payloads.required_string(body, "externalIdPrefix")
    if "externalId" in body or "id" in body:
        raise BadRequest("generated coupons take their ids from count and externalIdPrefix")
    common = {key: value for key, value in body.items() if key not in _COUNT_FIELDS}
    template = payloads.coupon_spec({**common, "externalId": prefix})
    return [replace(template, external_id=f"{prefix}{index}") for index in range(count)]


def _batch(coupons: list[Coupon]) -> JSONResponse:
    summaries = [
        {"id": coupon.id, "campaignId": coupon.campaign_id, "externalId": coupon.external_id}
        for coupon in coupons
    ]
    return JSONResponse({"count": len(coupons), "coupons": summaries}, status_code=201)
