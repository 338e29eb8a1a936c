"""A simulated Passworks v2 coupon API under `/passworks`.

    GET  /passworks/v2/coupons/{campaign}                            the campaign
    GET  /passworks/v2/coupons/{campaign}/passes/{pass}              one pass
    POST /passworks/v2/coupons/{campaign}/passes/{pass}/redeem       redeem it (pass JSON back)
    POST /passworks/v2/coupons/{campaign}/passes/{pass}/reset_redeem undo a redemption

HTTP Basic with the account's API username and key; refusals are 412 `{"errors": {…}}`, as
Passworks documents them. What Passworks leaves undocumented is simulated the strict way: a
second redeem of a pass (the campaign's `allow_multiple_redeems` is false) is refused with 412,
and a redeem sets the pass void as well as counting it. Test coupons come from the shared admin
shape (`resolver_sandbox.simulated`): `externalId` is the pass id.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from resolver_sandbox.gate import Gate
from resolver_sandbox.simulated import admin_routes, check_new
from resolver_sandbox.timestamps import format_timestamp

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from datetime import datetime

    from starlette.requests import Request

    from resolver_sandbox.records import JSONObject
    from resolver_sandbox.simulated import Spec
    from resolver_sandbox.state import SandboxState

API = "passworks"
PREFIX = "/passworks/v2/coupons"
USERNAME = "sandbox"
API_KEY = "sandbox-passworks-key"
DEMO_CAMPAIGN = "demo-passworks"

PASS = PREFIX + "/{campaign}/passes/{pass_id}"


@dataclass(slots=True)
class Pass:
    """A coupon pass: how often it was redeemed, whether it is void, when it expires."""

    id: str
    campaign_id: str
    created: datetime
    redeemed_count: int = 0
    voided: bool = False
    expiration_date: datetime | None = None
    comments: list[str] = field(default_factory=list)

    @property
    def external_id(self) -> str:
        return self.id

    def to_json(self) -> JSONObject:
        """The pass as Passworks shows it (the fields a resolver reads, and a few more)."""
        stamp = format_timestamp(self.created)
        return {
            "id": self.id,
            "campaign_id": self.campaign_id,
            "voided": self.voided,
            "redeem_code": self.id,
            "redeemed_count": self.redeemed_count,
            "expiration_date": format_timestamp(self.expiration_date),
            "created_at": stamp,
            "updated_at": stamp,
        }


class PassworksState:
    """The simulated account's campaigns and passes."""

    def __init__(self, clock: Callable[[], datetime]) -> None:
        self.clock = clock
        self.passes: dict[tuple[str, str], Pass] = {}

    def create(self, specs: Sequence[Spec]) -> list[JSONObject]:
        check_new(set(self.passes), specs)
        now = self.clock()
        made = []
        for spec in specs:
            item = Pass(
                id=spec.external_id,
                campaign_id=spec.campaign_id,
                created=now,
                redeemed_count=1 if spec.status == "redeemed" else 0,
                voided=spec.status in ("redeemed", "voided"),
                expiration_date=now if spec.status == "expired" else spec.expiry_date,
            )
            self.passes[spec.campaign_id, spec.external_id] = item
            made.append(item.to_json())
        return made

    def listing(self, campaign_id: str | None) -> list[JSONObject]:
        return [p.to_json() for p in self.passes.values() if campaign_id in (None, p.campaign_id)]

    def clear(self) -> None:
        self.passes.clear()

    def has_campaign(self, campaign_id: str) -> bool:
        return any(p.campaign_id == campaign_id for p in self.passes.values())


class PassworksApi:
    """The Passworks endpoints over one `SandboxState`."""

    def __init__(self, state: SandboxState, *, latency_ms: float = 0.0) -> None:
        self._state = state
        self._store = state.passworks
        self._gate = Gate(state, API, latency_ms=latency_ms)
        self._credentials = f"{USERNAME}:{API_KEY}".encode()

    def routes(self) -> list[Route]:
        return [
            Route(PREFIX + "/{campaign}", self.campaign, methods=["GET"]),
            Route(PASS, self.read_pass, methods=["GET"]),
            Route(PASS + "/redeem", self.redeem, methods=["POST"]),
            Route(PASS + "/reset_redeem", self.reset_redeem, methods=["POST"]),
            *admin_routes(API, self._store),
        ]

    async def campaign(self, request: Request) -> Response:
        """A campaign exists while it has passes; its texts are the sandbox's."""

        async def handle() -> Response:
            campaign_id = request.path_params["campaign"]
            refused = self._refuse(request) or await self._gate.read_fault(_unavailable)
            if refused is not None:
                return refused
            if not self._store.has_campaign(campaign_id):
                return _precondition("campaign", "Campaign not found.")
            return JSONResponse(
                {
                    "id": campaign_id,
                    "name": "Sandbox coupons",
                    "description": "Free dessert with any main course",
                    "allow_multiple_redeems": False,
                    "primary_fields": [{"key": "offer", "value": "Free", "label": "Dessert"}],
                    "expiration_date": None,
                }
            )

        return await self._gate.counted(request, PREFIX + "/{campaign}", handle)

    async def read_pass(self, request: Request) -> Response:
        """One pass of a campaign."""

        async def handle() -> Response:
            refused = self._refuse(request) or await self._gate.read_fault(_unavailable)
            if refused is not None:
                return refused
            found = self._find(request)
            return found if isinstance(found, Response) else JSONResponse(found.to_json())

        return await self._gate.counted(request, PASS, handle)

    async def redeem(self, request: Request) -> Response:
        """Count and void the pass, once; a second redeem is refused with 412."""

        async def handle() -> Response:
            refused = self._refuse(request)
            if refused is not None:
                return refused
            comment = str((await _json(request)).get("comment", ""))  # before any hang
            found = self._find(request)
            self._gate.count_redeem(None if isinstance(found, Response) else found)
            fault = await self._gate.redeem_fault(request, _unavailable)
            if fault is not None:
                return fault
            found = self._find(request)  # looked up again: the pass may have changed meanwhile
            return found if isinstance(found, Response) else self._apply(found, comment)

        return await self._gate.counted(request, PASS + "/redeem", handle)

    async def reset_redeem(self, request: Request) -> Response:
        """Clear the pass's void flag and its redemptions."""

        async def handle() -> Response:
            refused = self._refuse(request)
            if refused is not None:
                return refused
            found = self._find(request)
            if isinstance(found, Response):
                return found
            found.redeemed_count, found.voided = 0, False
            return JSONResponse(found.to_json())

        return await self._gate.counted(request, PASS + "/reset_redeem", handle)

    def _apply(self, found: Pass, comment: str) -> Response:
        """Redeem the pass now; synchronous, so no other call can interleave."""
        if found.redeemed_count:
            return _precondition("pass", "Pass already redeemed.")
        if found.voided:
            return _precondition("pass", "Pass is void.")
        expires = found.expiration_date
        if expires is not None and expires <= self._store.clock():
            return _precondition("pass", "Pass expired.")
        found.redeemed_count += 1
        found.voided = True
        found.comments.append(comment)
        self._gate.count_applied(found)
        if self._gate.apply_then_fail:
            return JSONResponse({"errors": ["sandbox fault: redeemed, then failed"]}, 500)
        return JSONResponse(found.to_json())

    def _find(self, request: Request) -> Pass | Response:
        params = request.path_params
        found = self._store.passes.get((params["campaign"], params["pass_id"]))
        if found is not None:
            return found
        if not self._store.has_campaign(params["campaign"]):
            return _precondition("campaign", "Campaign not found.")
        return _precondition("pass", "Pass not found.")

    def _refuse(self, request: Request) -> Response | None:
        scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
        try:
            given = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            given = b""
        if scheme.lower() == "basic" and hmac.compare_digest(given, self._credentials):
            return None
        # What Rails' HTTP Basic answers, which Passworks is built on.
        return PlainTextResponse("HTTP Basic: Access denied.\n", status_code=401)


async def _json(request: Request) -> dict[str, object]:
    """The redeem body's `pass` object; Passworks makes the body optional."""
    try:
        body = await request.json()
    except ValueError:
        return {}
    inner = body.get("pass") if isinstance(body, dict) else None
    return inner if isinstance(inner, dict) else {}


def _precondition(field_name: str, message: str) -> JSONResponse:
    return JSONResponse({"errors": {field_name: message}}, status_code=412)


def _unavailable(message: str) -> JSONResponse:
    return JSONResponse({"errors": [message]}, status_code=503)
