"""A simulated in-house coupon API under `/generic/inhouse`, for the generic HTTP provider.

No real product: the kind of small JSON API a business runs itself, which the generic provider
is configured for with request templates, a success rule and a status-to-outcome map.

    GET  /generic/inhouse/coupons/{campaign}/{member}          {"id", "status", "expiresAt",
                                                               "redeemedAt"} or 404
    POST /generic/inhouse/coupons/{campaign}/{member}/redeem   200 {"status": "redeemed", …};
                                                               404 unknown · 409 already
                                                               redeemed · 410 expired or void

`Authorization: Bearer <TOKEN>`; errors are `{"error": "…"}`. `status` is active, redeemed,
void or expired.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
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

    from resolver_sandbox.records import JSONObject
    from resolver_sandbox.simulated import Spec
    from resolver_sandbox.state import SandboxState

API = "inhouse"
COUPON = "/generic/inhouse/coupons/{campaign}/{member}"
TOKEN = "sandbox-inhouse-token"  # noqa: S105  # a well-known demo credential, opens nothing real
DEMO_CAMPAIGN = "demo-inhouse"
_STATUS_FOR = {"unredeemed": "active", "redeemed": "redeemed", "voided": "void"}


@dataclass(slots=True)
class InhouseCoupon:
    """A member's coupon in a campaign."""

    campaign_id: str
    external_id: str
    status: str = "active"
    expires_at: datetime | None = None
    redeemed_at: datetime | None = None

    @property
    def id(self) -> str:
        return f"{self.campaign_id}/{self.external_id}"

    def to_json(self) -> JSONObject:
        return {
            "id": self.id,
            "campaign": self.campaign_id,
            "member": self.external_id,
            "status": self.status,
            "expiresAt": format_timestamp(self.expires_at),
            "redeemedAt": format_timestamp(self.redeemed_at),
        }


class InhouseState:
    """The in-house system's coupons, by (campaign, member)."""

    def __init__(self, clock: Callable[[], datetime]) -> None:
        self.clock = clock
        self.coupons: dict[tuple[str, str], InhouseCoupon] = {}

    def create(self, specs: Sequence[Spec]) -> list[JSONObject]:
        check_new(set(self.coupons), specs)
        now = self.clock()
        made = []
        for spec in specs:
            status = _STATUS_FOR.get(spec.status, "expired")
            item = InhouseCoupon(
                spec.campaign_id,
                spec.external_id,
                status,
                spec.expiry_date,
                now if status == "redeemed" else None,
            )
            self.coupons[spec.campaign_id, spec.external_id] = item
            made.append(item.to_json())
        return made

    def listing(self, campaign_id: str | None) -> list[JSONObject]:
        found = self.coupons.values()
        return [c.to_json() for c in found if campaign_id in (None, c.campaign_id)]

    def clear(self) -> None:
        self.coupons.clear()


class InhouseApi:
    """The in-house endpoints over one `SandboxState`."""

    def __init__(self, state: SandboxState, *, latency_ms: float = 0.0) -> None:
        self._store = state.inhouse
        self._gate = Gate(state, API, latency_ms=latency_ms)

    def routes(self) -> list[Route]:
        return [
            Route(COUPON, self.read, methods=["GET"]),
            Route(COUPON + "/redeem", self.redeem, methods=["POST"]),
            *admin_routes(API, self._store),
        ]

    async def read(self, request: Request) -> Response:
        """A coupon as it is now."""

        async def handle() -> Response:
            refused = self._refuse(request) or await self._gate.read_fault(_unavailable)
            if refused is not None:
                return refused
            found = self._find(request)
            return found if isinstance(found, Response) else JSONResponse(found.to_json())

        return await self._gate.counted(request, COUPON, handle)

    async def redeem(self, request: Request) -> Response:
        """Redeem once; the refusals say why."""

        async def handle() -> Response:
            refused = self._refuse(request)
            if refused is not None:
                return refused
            found = self._find(request)
            self._gate.count_redeem(None if isinstance(found, Response) else found)
            fault = await self._gate.redeem_fault(request, _unavailable)
            if fault is not None:
                return fault
            found = self._find(request)
            return found if isinstance(found, Response) else self._apply(found)

        return await self._gate.counted(request, COUPON + "/redeem", handle)

    def _apply(self, found: InhouseCoupon) -> Response:
        now = self._store.clock()
        if found.status == "redeemed":
            return _refusal(409, "already redeemed")
        expired = found.expires_at is not None and found.expires_at <= now
        if found.status in ("void", "expired") or expired:
            return _refusal(410, "expired")
        found.status, found.redeemed_at = "redeemed", now
        self._gate.count_applied(found)
        if self._gate.apply_then_fail:
            return _refusal(500, "sandbox fault: redeemed, then failed")
        return JSONResponse({**found.to_json(), "status": "redeemed"})

    def _find(self, request: Request) -> InhouseCoupon | Response:
        params = request.path_params
        found = self._store.coupons.get((params["campaign"], params["member"]))
        return _refusal(404, "no such coupon") if found is None else found

    def _refuse(self, request: Request) -> Response | None:
        given = request.headers.get("authorization", "")
        if hmac.compare_digest(given, f"Bearer {TOKEN}"):
            return None
        return _refusal(401, "unauthorized")


def _refusal(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def _unavailable(message: str) -> JSONResponse:
    return _refusal(503, message)
