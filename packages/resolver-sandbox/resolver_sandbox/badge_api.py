"""A simulated Badge pass API and a simulated Make webhook, under `/generic` (docs/backends.md).
Both are driven by the generic HTTP provider.

    POST /generic/badge/v0/userPassUpsert   Badge: create or update a user's pass (idempotent);
                                            `Authorization: Bearer <BADGE_KEY>`
    GET|POST /generic/make/{hook}           Make: "Accepted", whatever then happens;
                                            `x-make-apikey: <MAKE_KEY>`

Badge has no redeem call and nothing to read a pass back with: a resolver marks a coupon used
by upserting a visible attribute (`"redeemed"`) on the child pass. An upsert naming no pass
makes one, as an upsert does. Make's webhook queues the call and answers "Accepted" at once,
telling nothing of the outcome; here the "scenario" behind it redeems the PassKit coupon named
by `externalId` and `campaignId` in the sandbox's own PassKit state.
The shared admin shape makes Badge child passes: `campaignId` is the pass template id.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from resolver_sandbox.gate import Gate
from resolver_sandbox.records import RedemptionDetails
from resolver_sandbox.simulated import admin_routes, check_new

if TYPE_CHECKING:
    from collections.abc import Sequence

    from starlette.requests import Request

    from resolver_sandbox.records import JSONObject
    from resolver_sandbox.simulated import Spec
    from resolver_sandbox.state import SandboxState

BADGE = "badge"
MAKE = "make"
UPSERT = "/generic/badge/v0/userPassUpsert"
HOOK = "/generic/make/{hook}"
BADGE_KEY = "sandbox-badge-key"
MAKE_KEY = "sandbox-make-key"
DEMO_TEMPLATE = "demo-badge"
DEMO_HOOK = "demo-scenario"
REDEEMED_ATTRIBUTE = "redeemed"


@dataclass(slots=True)
class BadgePass:
    """A child pass of a pass template, with its visible attributes."""

    campaign_id: str  # the passTemplateId
    external_id: str  # the pass id
    attributes: dict[str, str] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return f"{self.campaign_id}/{self.external_id}"

    def to_json(self) -> JSONObject:
        return {
            "id": self.external_id,
            "passTemplateId": self.campaign_id,
            "attributes": dict(self.attributes),
            "downloadUrl": f"https://badge.sandbox/p/{self.external_id}",
        }


class BadgeState:
    """Badge's passes, by (template, pass id)."""

    def __init__(self) -> None:
        self.passes: dict[tuple[str, str], BadgePass] = {}

    def create(self, specs: Sequence[Spec]) -> list[JSONObject]:
        check_new(set(self.passes), specs)
        made = []
        for spec in specs:
            item = BadgePass(spec.campaign_id, spec.external_id)
            if spec.status == "redeemed":
                item.attributes[REDEEMED_ATTRIBUTE] = "yes"
            self.passes[spec.campaign_id, spec.external_id] = item
            made.append(item.to_json())
        return made

    def listing(self, campaign_id: str | None) -> list[JSONObject]:
        found = self.passes.values()
        return [p.to_json() for p in found if campaign_id in (None, p.campaign_id)]

    def clear(self) -> None:
        self.passes.clear()


class BadgeAndMakeApi:
    """Badge's upsert and Make's webhook over one `SandboxState`."""

    def __init__(self, state: SandboxState, *, latency_ms: float = 0.0) -> None:
        self._state = state
        self._store = state.badge
        self._badge = Gate(state, BADGE, latency_ms=latency_ms)
        self._make = Gate(state, MAKE, latency_ms=latency_ms)

    def routes(self) -> list[Route]:
        return [
            Route(UPSERT, self.upsert, methods=["POST"]),
            Route(HOOK, self.hook, methods=["GET", "POST"]),
            *admin_routes(BADGE, self._store),
        ]

    async def upsert(self, request: Request) -> Response:
        """Create or update a pass; setting `redeemed` counts as a redeem call."""

        async def handle() -> Response:
            given = request.headers.get("authorization", "")
            if not hmac.compare_digest(given, f"Bearer {BADGE_KEY}"):
                return JSONResponse({"message": "Unauthorized"}, status_code=401)
            try:
                body = await request.json()
            except ValueError:
                body = None
            item = body.get("pass") if isinstance(body, dict) else None
            if not isinstance(body, dict) or not isinstance(item, dict) or not item.get("id"):
                return JSONResponse({"message": "pass.id is required"}, status_code=400)
            key = (str(body.get("passTemplateId", "")), str(item["id"]))
            attributes = item.get("attributes")
            changes = (
                {str(k): str(v) for k, v in attributes.items()}
                if isinstance(attributes, dict)
                else {}
            )
            redeeming = REDEEMED_ATTRIBUTE in changes
            if redeeming:
                self._badge.count_redeem(self._store.passes.get(key) or BadgePass(*key))
                fault = await self._badge.redeem_fault(request, _unavailable)
            else:
                fault = await self._badge.read_fault(_unavailable)
            if fault is not None:
                return fault
            found = self._store.passes.setdefault(key, BadgePass(*key))
            if redeeming and REDEEMED_ATTRIBUTE not in found.attributes:
                self._badge.count_applied(found)
            found.attributes.update(changes)
            if redeeming and self._badge.apply_then_fail:
                return JSONResponse({"message": "sandbox fault: redeemed, then failed"}, 500)
            return JSONResponse({"user": body.get("user"), "pass": found.to_json()})

        return await self._badge.counted(request, UPSERT, handle)

    async def hook(self, request: Request) -> Response:
        """Queue the scenario and answer "Accepted"; the scenario redeems at PassKit."""

        async def handle() -> Response:
            if not hmac.compare_digest(request.headers.get("x-make-apikey", ""), MAKE_KEY):
                return PlainTextResponse("Unauthorized", status_code=401)
            fields = dict(request.query_params)
            if request.method == "POST":
                try:
                    posted = await request.json()
                except ValueError:
                    posted = None
                if isinstance(posted, dict):
                    fields.update({str(k): str(v) for k, v in posted.items()})
            passkit = self._state
            coupon = passkit.coupon_by_external_id(
                fields.get("campaignId", ""), fields.get("externalId", "")
            )
            self._make.count_redeem(coupon)
            fault = await self._make.redeem_fault(request, _unavailable_text)
            if fault is not None:
                return fault
            # The scenario's PassKit module: a redeem call PassKit counts (and applies) itself.
            passkit.stats.count_redeem(coupon)
            if coupon is not None:
                before = coupon.status
                passkit.redeem(coupon, RedemptionDetails(redemption_source="make (sandbox)"))
                if coupon.status != before:
                    self._make.count_applied(coupon)
            return PlainTextResponse("Accepted")

        return await self._make.counted(request, HOOK, handle)


def _unavailable(message: str) -> JSONResponse:
    return JSONResponse({"message": message}, status_code=503)


def _unavailable_text(message: str) -> PlainTextResponse:
    return PlainTextResponse(message, status_code=503)
