"""The simulated PassKit REST endpoints for single-use coupons.

Each call is counted, authenticated, delayed by the baseline and fault latency, possibly failed
by a fault, and only then answered. Redeem checks and flips its coupon without awaiting in
between, so concurrent redeems of one coupon apply exactly once.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from resolver_sandbox import payloads
from resolver_sandbox.errors import GrpcCode, SandboxError, error_response, sandbox_error_response
from resolver_sandbox.faults import held_until_released
from resolver_sandbox.state import RedeemOutcome

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from starlette.requests import Request

    from resolver_sandbox.auth import Authenticator
    from resolver_sandbox.payloads import RedeemTarget
    from resolver_sandbox.records import JSONObject
    from resolver_sandbox.state import SandboxState

COUPON_BY_EXTERNAL_ID = "/coupon/singleUse/coupon/externalId/{campaignId}/{externalId}"
COUPON_BY_ID = "/coupon/singleUse/coupon/{id}"
OFFER = "/coupon/singleUse/offer/{offerId}"
CAMPAIGN = "/coupon/singleUse/campaign/{campaignId}"
REDEEM = "/coupon/singleUse/coupon/redeem"


class PassKitApi:
    """The PassKit endpoints over one `SandboxState`."""

    def __init__(self, state: SandboxState, auth: Authenticator, *, latency_ms: float) -> None:
        self._state = state
        self._auth = auth
        self._baseline_s = latency_ms / 1000.0

    def routes(self) -> list[Route]:
        """The routes, redeem first so `GET .../coupon/redeem` still reads as a coupon id."""
        return [
            Route(REDEEM, self.redeem, methods=["PUT"]),
            Route(COUPON_BY_EXTERNAL_ID, self.coupon_by_external_id, methods=["GET"]),
            Route(COUPON_BY_ID, self.coupon_by_id, methods=["GET"]),
            Route(OFFER, self.offer, methods=["GET"]),
            Route(CAMPAIGN, self.campaign, methods=["GET"]),
        ]

    async def coupon_by_external_id(self, request: Request) -> Response:
        """The coupon currently holding an external id in a campaign."""

        def lookup(params: Mapping[str, str]) -> JSONObject | None:
            coupon = self._state.coupon_by_external_id(params["campaignId"], params["externalId"])
            return None if coupon is None else coupon.to_json()

        return await self._read(request, COUPON_BY_EXTERNAL_ID, lookup, "coupon not found")

    async def coupon_by_id(self, request: Request) -> Response:
        """A coupon by its PassKit id, invalidated ones included."""

        def lookup(params: Mapping[str, str]) -> JSONObject | None:
            coupon = self._state.coupons.get(params["id"])
            return None if coupon is None else coupon.to_json()

        return await self._read(request, COUPON_BY_ID, lookup, "coupon not found")

    async def offer(self, request: Request) -> Response:
        """A coupon offer: its texts, translations, time zone and redemption window."""

        def lookup(params: Mapping[str, str]) -> JSONObject | None:
            offer = self._state.offers.get(params["offerId"])
            return None if offer is None else offer.to_json()

        return await self._read(request, OFFER, lookup, "offer not found")

    async def campaign(self, request: Request) -> Response:
        """A coupon campaign."""

        def lookup(params: Mapping[str, str]) -> JSONObject | None:
            campaign = self._state.campaigns.get(params["campaignId"])
            return None if campaign is None else campaign.to_json()

        return await self._read(request, CAMPAIGN, lookup, "campaign not found")

    async def redeem(self, request: Request) -> Response:
        """Redeem the coupon the body names, at most once."""
        stats = self._state.stats
        stats.count_call("PUT " + REDEEM)
        response = await self._redeem(request)
        stats.count_status(response.status_code)
        return response

    async def _read(
        self,
        request: Request,
        path: str,
        lookup: Callable[[Mapping[str, str]], JSONObject | None],
        missing: str,
    ) -> Response:
        stats = self._state.stats
        stats.count_call("GET " + path)
        response = self._refuse(request)
        if response is None:
            await self._delay(redeem=False)
            if self._state.faults.roll_unavailable(redeem=False):
                response = _unavailable("sandbox fault: service unavailable")
            else:
                found = lookup(request.path_params)
                if found is None:
                    response = error_response(GrpcCode.NOT_FOUND, missing)
                else:
                    response = JSONResponse(found)
        stats.count_status(response.status_code)
        return response

    async def _redeem(self, request: Request) -> Response:
        refused = self._refuse(request)
        if refused is not None:
            return refused
        try:
            target = payloads.redeem_target(payloads.decode_object(await request.body()))
        except SandboxError as error:
            return sandbox_error_response(error)
        state = self._state
        # Counted before any fault strikes: a call that fails still reached PassKit.
        state.stats.count_redeem(state.find(target))
        await self._delay(redeem=True)
        return await self._redeem_fault(request) or self._apply(target)

    async def _redeem_fault(self, request: Request) -> Response | None:
        """The answer of a redeem call a fault takes over, or None to go on."""
        faults = self._state.faults
        if faults.roll_unavailable(redeem=True):
            return _unavailable("sandbox fault: service unavailable")
        if not faults.config.hang:
            return None
        if await held_until_released(faults, request.receive):
            return _unavailable("sandbox fault: hung call released")
        return error_response(GrpcCode.CANCELLED, "client gave up")

    def _apply(self, target: RedeemTarget) -> Response:
        """Redeem the coupon now; synchronous, so nothing can interleave with the flip."""
        state = self._state
        # Looked up again: the external id may have moved to a new coupon while the call slept.
        coupon = state.find(target)
        if coupon is None:
            return error_response(GrpcCode.NOT_FOUND, "coupon not found")
        outcome = state.redeem(coupon, target.details)
        if outcome is not RedeemOutcome.APPLIED:
            return error_response(GrpcCode.FAILED_PRECONDITION, outcome.value)
        if state.faults.config.apply_then_fail:
            return error_response(GrpcCode.INTERNAL, "sandbox fault: redeemed, then failed")
        return JSONResponse({"id": coupon.id})

    def _refuse(self, request: Request) -> Response | None:
        refusal = self._auth.refusal(request.headers.get("authorization"))
        return None if refusal is None else error_response(GrpcCode.UNAUTHENTICATED, refusal)

    async def _delay(self, *, redeem: bool) -> None:
        seconds = self._baseline_s + self._state.faults.latency(redeem=redeem)
        if seconds > 0:
            await asyncio.sleep(seconds)


def _unavailable(message: str) -> Response:
    return error_response(GrpcCode.UNAVAILABLE, message)
