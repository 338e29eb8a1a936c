"""A simulated Skycore v3 wallet API at `POST /skycore/api`.

Skycore gives each account one endpoint URL; every call posts `{"action": …}` to it with an
`X-Api-Key` header. Simulated actions: `getpassdata`, `getpasstemplate` and `updatepassdata`
(its `pass-data.pass-status`). Answers are `{"status": "Success", …}` or
`{"status": "FAILURE", "error-code", "error-message"}` with the documented codes: E808 for an
unknown pass-id, E802 for an unknown pass-template-id. As documented, `getpassdata` never tells
the pass's status. What the docs leave open is simulated the way that is hardest on a client:
updating an already redeemed pass to "redeemed" again succeeds; a bad API key gets 401; an
injected 503 or apply-then-fail answers plain text, as a gateway in front of Skycore would.
Updates are queued at Skycore; here they apply at once, and still get a `tracking-id`.
"""

from __future__ import annotations

import hmac
import itertools
from dataclasses import dataclass
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

API = "skycore"
ENDPOINT = "/skycore/api"
API_KEY = "SandboxSkycoreKey0123456789"
DEMO_TEMPLATE = "demo-skycore"
PASS_STATUSES = ("active", "redeemed", "voided", "expired")


@dataclass(slots=True)
class SkycorePass:
    """A coupon pass of a pass template, with the status `updatepassdata` sets."""

    id: str
    campaign_id: str  # the pass-template-id
    status: str = "active"
    expiration: datetime | None = None

    @property
    def external_id(self) -> str:
        return self.id

    def pass_data(self) -> JSONObject:
        """What `getpassdata` answers: no status, as documented."""
        return {
            "barcode-value": self.id,
            "offer-title": "Sandbox pizza",
            "expiration-timestamp": format_timestamp(self.expiration),
        }


class SkycoreState:
    """The simulated account's passes, keyed by (pass-template-id, pass-id)."""

    def __init__(self, clock: Callable[[], datetime]) -> None:
        self.clock = clock
        self.passes: dict[tuple[str, str], SkycorePass] = {}
        self.tracking = itertools.count(1)

    def create(self, specs: Sequence[Spec]) -> list[JSONObject]:
        check_new(set(self.passes), specs)
        made = []
        for spec in specs:
            status = "active" if spec.status == "unredeemed" else spec.status
            item = SkycorePass(spec.external_id, spec.campaign_id, status, spec.expiry_date)
            self.passes[spec.campaign_id, spec.external_id] = item
            made.append(_admin_json(item))
        return made

    def listing(self, campaign_id: str | None) -> list[JSONObject]:
        found = self.passes.values()
        return [_admin_json(p) for p in found if campaign_id in (None, p.campaign_id)]

    def clear(self) -> None:
        self.passes.clear()

    def has_template(self, template_id: str) -> bool:
        return any(p.campaign_id == template_id for p in self.passes.values())


class SkycoreApi:
    """The Skycore endpoint over one `SandboxState`."""

    def __init__(self, state: SandboxState, *, latency_ms: float = 0.0) -> None:
        self._store = state.skycore
        self._gate = Gate(state, API, latency_ms=latency_ms)

    def routes(self) -> list[Route]:
        return [Route(ENDPOINT, self.call, methods=["POST"]), *admin_routes(API, self._store)]

    async def call(self, request: Request) -> Response:
        """One action; the stats count it as `POST /skycore/api <action>`."""
        try:
            body = await request.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            body = {}
        action = str(body.get("action", "")).lower()  # Skycore reads actions case-insensitively

        async def handle() -> Response:
            if not hmac.compare_digest(request.headers.get("x-api-key", ""), API_KEY):
                return JSONResponse(
                    {"status": "Failure", "error-message": "The x-api-key is invalid."}, 401
                )
            if action == "updatepassdata":
                return await self._update(request, body)
            fault = await self._gate.read_fault(_unavailable)
            if fault is not None:
                return fault
            if action == "getpassdata":
                return self._pass_data(body)
            if action == "getpasstemplate":
                return self._template(body)
            return _failure(None, "The action value is invalid.")  # no documented code

        return await self._gate.counted(request, f"{ENDPOINT} {action or '-'}", handle)

    def _pass_data(self, body: dict[str, object]) -> Response:
        found = self._find(body)
        if isinstance(found, Response):
            return found
        return JSONResponse(
            {
                "status": "Success",
                "pass-id": found.id,
                "pass-template-id": found.campaign_id,
                "pass-data": found.pass_data(),
            }
        )

    def _template(self, body: dict[str, object]) -> Response:
        template_id = str(body.get("pass-template-id", ""))
        if not self._store.has_template(template_id):
            return _failure("E802", "The pass-template-id value is invalid.")
        template: JSONObject = {
            "pass-name": "Sandbox coupon",
            "pass-type": "Coupon",
            "offer-title": "Free pizza slice",
            "offer-details": "One slice of the day's pizza.",
            "offer-terms": "One per customer. Not exchangeable for cash.",
        }
        return JSONResponse(
            {"status": "Success", "pass-template-id": template_id, "pass-template": template}
        )

    async def _update(self, request: Request, body: dict[str, object]) -> Response:
        data = body.get("pass-data")
        status = str(data.get("pass-status", "")).lower() if isinstance(data, dict) else ""
        found = self._find(body)
        if status == "redeemed":
            self._gate.count_redeem(None if isinstance(found, Response) else found)
        fault = await self._gate.redeem_fault(request, _unavailable)
        if fault is not None:
            return fault
        found = self._find(body)  # looked up again after the delay
        if isinstance(found, Response):
            return found
        if status and status not in PASS_STATUSES:
            return _failure("E809", "Internal Error. The pass was not updated.")
        if status:
            applied = status == "redeemed" and found.status != "redeemed"
            found.status = status
            if applied:
                self._gate.count_applied(found)
        if self._gate.apply_then_fail:
            return PlainTextResponse("Internal Server Error", status_code=500)
        tracking = f"T{next(self._store.tracking):08d}"
        return JSONResponse({"status": "Success", "pass-id": found.id, "tracking-id": tracking})

    def _find(self, body: dict[str, object]) -> SkycorePass | Response:
        template_id = str(body.get("pass-template-id", ""))
        found = self._store.passes.get((template_id, str(body.get("pass-id", ""))))
        if found is not None:
            return found
        if not self._store.has_template(template_id):
            return _failure("E802", "The pass-template-id value is invalid.")
        return _failure("E808", "The pass-id value is invalid.")


def _admin_json(item: SkycorePass) -> JSONObject:
    return {
        "pass-id": item.id,
        "pass-template-id": item.campaign_id,
        "pass-status": item.status,  # the admin view shows what getpassdata never does
        "expiration-timestamp": format_timestamp(item.expiration),
    }


def _failure(code: str | None, message: str) -> JSONResponse:
    coded = {"error-code": code} if code else {}
    return JSONResponse({"status": "FAILURE", **coded, "error-message": message})


def _unavailable(message: str) -> PlainTextResponse:
    return PlainTextResponse(message, status_code=503)
