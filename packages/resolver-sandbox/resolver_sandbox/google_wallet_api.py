"""A simulated Google Wallet objects API under `/walletobjects/v1` (docs/backends.md).

    GET   /walletobjects/v1/{offer|generic}Object/{issuerId.suffix}   an object and its state
    PATCH /walletobjects/v1/{offer|generic}Object/{issuerId.suffix}   e.g. {"state": "COMPLETED"}
    GET   /walletobjects/v1/{offer|generic}Class/{issuerId.suffix}    the class (offer texts)

Calls need `Authorization: Bearer <token>` from the sandbox's OAuth endpoint
(`resolver_sandbox.google_oauth`). Errors are Google's `{"error": {"code", "message",
"status"}}`. As at Google, a PATCH to COMPLETED is applied however often it is sent and
answers the object each time; only a change from ACTIVE counts as "applied" in the stats.
Test coupons come from the shared admin shape: `campaignId` is the class suffix and
`externalId` the object suffix, both under `ISSUER_ID`; one object answers under both the
offer and the generic paths.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from resolver_sandbox.gate import Gate
from resolver_sandbox.simulated import admin_routes, check_new
from resolver_sandbox.timestamps import format_timestamp

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from datetime import datetime

    from starlette.requests import Request

    from resolver_sandbox.google_oauth import TokenIssuer
    from resolver_sandbox.records import JSONObject
    from resolver_sandbox.simulated import Spec
    from resolver_sandbox.state import SandboxState

API = "google"
BASE = "/walletobjects/v1"
ISSUER_ID = "3388000000022000001"
DEMO_CLASS = "demo-google"
OBJECT = BASE + "/{kind:str}Object/{object_id:str}"
CLASS = BASE + "/{kind:str}Class/{class_id:str}"
STATES = ("ACTIVE", "COMPLETED", "EXPIRED", "INACTIVE")
_KINDS = ("offer", "generic")
_STATE_FOR = {"unredeemed": "ACTIVE", "redeemed": "COMPLETED", "voided": "INACTIVE"}


@dataclass(slots=True)
class WalletObject:
    """An offer or generic object: its class, its state and the end of its validity."""

    suffix: str
    class_suffix: str
    state: str = "ACTIVE"
    valid_until: datetime | None = None

    @property
    def id(self) -> str:
        return f"{ISSUER_ID}.{self.suffix}"

    @property
    def campaign_id(self) -> str:
        return self.class_suffix

    @property
    def external_id(self) -> str:
        return self.suffix

    def to_json(self, kind: str) -> JSONObject:
        """The object as the API renders it (the fields a resolver reads, and a few more)."""
        body: JSONObject = {
            "kind": f"walletobjects#{kind}Object",
            "id": self.id,
            "classId": f"{ISSUER_ID}.{self.class_suffix}",
            "state": self.state,
            "barcode": {"type": "QR_CODE", "value": self.suffix},
        }
        if self.valid_until is not None:
            body["validTimeInterval"] = {"end": {"date": format_timestamp(self.valid_until)}}
        return body


class GoogleWalletState:
    """The simulated issuer's objects, by object suffix."""

    def __init__(self, clock: Callable[[], datetime]) -> None:
        self.clock = clock
        self.objects: dict[str, WalletObject] = {}

    def create(self, specs: Sequence[Spec]) -> list[JSONObject]:
        # Object ids are unique per issuer, whatever their class.
        check_new({("", suffix) for suffix in self.objects}, [_keyed(s) for s in specs])
        made = []
        for spec in specs:
            state = _STATE_FOR.get(spec.status, "EXPIRED")
            item = WalletObject(spec.external_id, spec.campaign_id, state, spec.expiry_date)
            self.objects[item.suffix] = item
            made.append(item.to_json("offer"))
        return made

    def listing(self, campaign_id: str | None) -> list[JSONObject]:
        found = self.objects.values()
        return [o.to_json("offer") for o in found if campaign_id in (None, o.class_suffix)]

    def clear(self) -> None:
        self.objects.clear()


class GoogleWalletApi:
    """The Wallet objects endpoints over one `SandboxState`."""

    def __init__(self, state: SandboxState, tokens: TokenIssuer, *, latency_ms: float = 0.0):
        self._store = state.google
        self._tokens = tokens
        self._gate = Gate(state, API, latency_ms=latency_ms)

    def routes(self) -> list[Route]:
        return [
            Route(OBJECT, self.read_object, methods=["GET"]),
            Route(OBJECT, self.patch_object, methods=["PATCH"]),
            Route(CLASS, self.read_class, methods=["GET"]),
            *admin_routes(API, self._store),
        ]

    async def read_object(self, request: Request) -> Response:
        """An object, as it is now."""

        async def handle() -> Response:
            refused = self._refuse(request) or await self._gate.read_fault(_unavailable)
            if refused is not None:
                return refused
            found = self._find(request)
            return found if isinstance(found, Response) else self._render(request, found)

        return await self._gate.counted(request, OBJECT, handle)

    async def patch_object(self, request: Request) -> Response:
        """Change an object's state; COMPLETED again is applied again (Google's way)."""

        async def handle() -> Response:
            refused = self._refuse(request)
            if refused is not None:
                return refused
            try:
                body = await request.json()
            except ValueError:
                body = None
            state = str(body.get("state", "")).upper() if isinstance(body, dict) else ""
            if state and state not in STATES:
                return _error(400, "INVALID_ARGUMENT", f"Invalid value for state: {state}")
            found = self._find(request)
            if state == "COMPLETED":
                self._gate.count_redeem(None if isinstance(found, Response) else found)
            fault = await self._gate.redeem_fault(request, _unavailable)
            if fault is not None:
                return fault
            found = self._find(request)
            if isinstance(found, Response):
                return found
            if state:
                if state == "COMPLETED" and found.state == "ACTIVE":
                    self._gate.count_applied(found)
                found.state = state
            if state == "COMPLETED" and self._gate.apply_then_fail:
                return _error(500, "INTERNAL", "sandbox fault: redeemed, then failed")
            return self._render(request, found)

        return await self._gate.counted(request, OBJECT, handle)

    async def read_class(self, request: Request) -> Response:
        """A class exists while it has objects; its texts are the sandbox's."""

        async def handle() -> Response:
            refused = self._refuse(request) or await self._gate.read_fault(_unavailable)
            if refused is not None:
                return refused
            class_id = request.path_params["class_id"]
            issuer, _, suffix = class_id.partition(".")
            if issuer != ISSUER_ID or all(o.class_suffix != suffix for o in self._objects()):
                return _error(404, "NOT_FOUND", f"Resource not found: {class_id}")
            return JSONResponse(
                {
                    "id": class_id,
                    "issuerName": "Sandbox Coffee",
                    "provider": "Sandbox Coffee",
                    "title": "Free pastry",
                    "details": "One pastry of your choice with any hot drink.",
                    "finePrint": "One per member.",
                    "redemptionChannel": "INSTORE",
                    "reviewStatus": "APPROVED",
                }
            )

        return await self._gate.counted(request, CLASS, handle)

    def _objects(self) -> list[WalletObject]:
        return list(self._store.objects.values())

    def _find(self, request: Request) -> WalletObject | Response:
        object_id = request.path_params["object_id"]
        if request.path_params["kind"] not in _KINDS:
            return _error(404, "NOT_FOUND", "Not Found")
        issuer, _, suffix = object_id.partition(".")
        found = self._store.objects.get(suffix) if issuer == ISSUER_ID else None
        if found is None:
            return _error(404, "NOT_FOUND", f"Resource not found: {object_id}")
        return found

    def _render(self, request: Request, found: WalletObject) -> Response:
        if (
            found.state == "ACTIVE"
            and found.valid_until
            and found.valid_until <= self._store.clock()
        ):
            found.state = "EXPIRED"  # Google expires objects past their validity on its own
        return JSONResponse(found.to_json(request.path_params["kind"]))

    def _refuse(self, request: Request) -> Response | None:
        refusal = self._tokens.refusal(request.headers.get("authorization"))
        return None if refusal is None else _error(401, "UNAUTHENTICATED", refusal)


def _keyed(spec: Spec) -> Spec:
    return replace(spec, campaign_id="")


def _error(code: int, status: str, message: str) -> JSONResponse:
    return JSONResponse(
        {"error": {"code": code, "message": message, "status": status}}, status_code=code
    )


def _unavailable(message: str) -> JSONResponse:
    return _error(503, "UNAVAILABLE", message)
