"""The admin side every simulated back end other than PassKit shares: one coupon shape for tests.

Each back end names its coupons its own way (a Passworks pass, a Skycore pass, a Google Wallet
object, a generic coupon), but a test only needs to say "a coupon for this link, in this state".
So every back end takes the same admin bodies, under its own prefix:

    POST /_sandbox/{api}/coupons   {"campaignId", "externalId", "status"?, "expiryDate"?} (201);
                                   or {"coupons": [...]}; or {"count": N, "campaignId",
                                   "externalIdPrefix": P, ...} making P0..P{N-1} (201, the list)
    GET  /_sandbox/{api}/coupons   every coupon, or those of ?campaignId=

`status` is unredeemed (default), redeemed, voided or expired; `expiryDate` is RFC 3339.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Literal, Protocol

from starlette.responses import JSONResponse
from starlette.routing import Route

from resolver_sandbox import payloads
from resolver_sandbox.errors import BadRequest

if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import datetime

    from starlette.requests import Request

    from resolver_sandbox.payloads import Body
    from resolver_sandbox.records import JSONObject

Status = Literal["unredeemed", "redeemed", "voided", "expired"]
STATUSES: tuple[Status, ...] = ("unredeemed", "redeemed", "voided", "expired")
MAX_BULK_COUNT = 100_000
_FIELDS = frozenset({"campaignId", "externalId", "status", "expiryDate"})


@dataclass(frozen=True, slots=True)
class Spec:
    """A coupon a test asks for, in any back end's terms."""

    campaign_id: str
    external_id: str
    status: Status = "unredeemed"
    expiry_date: datetime | None = None


class Simulated(Protocol):
    """A simulated back end's state, as the admin API and `SandboxState` see it."""

    def create(self, specs: Sequence[Spec]) -> list[JSONObject]:
        """Make the coupons (all or none), answering each as the back end shows it."""
        ...

    def listing(self, campaign_id: str | None) -> list[JSONObject]:
        """Every coupon, or those of one campaign."""
        ...

    def clear(self) -> None:
        """Forget every coupon (`SandboxState.reset` seeds the demo again)."""
        ...


def admin_routes(api: str, simulated: Simulated) -> list[Route]:
    """`POST` and `GET /_sandbox/{api}/coupons` over `simulated`."""

    async def create(request: Request) -> JSONResponse:
        made = simulated.create(specs(payloads.decode_object(await request.body())))
        return JSONResponse({"count": len(made), "coupons": made}, status_code=201)

    async def listing(request: Request) -> JSONResponse:
        return JSONResponse({"coupons": simulated.listing(request.query_params.get("campaignId"))})

    path = f"/_sandbox/{api}/coupons"
    return [Route(path, create, methods=["POST"]), Route(path, listing, methods=["GET"])]


def specs(body: Body) -> list[Spec]:
    """The coupons of one admin body: one, a list, or a numbered batch."""
    if "coupons" in body:
        if set(body) != {"coupons"}:
            raise BadRequest('a "coupons" batch takes no other fields')
        items = body["coupons"]
        if not isinstance(items, list):
            raise BadRequest("coupons must be a list")
        return [spec(payloads.as_object(item, "coupon")) for item in items]
    if "count" not in body:
        return [spec(body)]
    count = body["count"]
    if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= MAX_BULK_COUNT:
        raise BadRequest(f"count must be a whole number from 0 to {MAX_BULK_COUNT}")
    prefix = payloads.required_string(body, "externalIdPrefix")
    common = {key: value for key, value in body.items() if key not in {"count", "externalIdPrefix"}}
    template = spec({**common, "externalId": prefix})
    return [replace(template, external_id=f"{prefix}{index}") for index in range(count)]


def spec(body: Body) -> Spec:
    """One coupon body."""
    payloads.reject_unknown(body, _FIELDS, "coupon")
    status = payloads.string(body, "status") or "unredeemed"
    if status not in STATUSES:
        raise BadRequest(f"status must be one of {', '.join(STATUSES)}")
    return Spec(
        campaign_id=payloads.required_string(body, "campaignId"),
        external_id=payloads.required_string(body, "externalId"),
        status=next(known for known in STATUSES if known == status),
        expiry_date=payloads.timestamp(body, "expiryDate"),
    )


def check_new(existing: set[tuple[str, str]], specs: Sequence[Spec]) -> None:
    """Refuse a batch naming a coupon that exists, or one coupon twice."""
    seen = set(existing)
    for item in specs:
        key = (item.campaign_id, item.external_id)
        if key in seen:
            raise BadRequest(f"{item.external_id} already exists in {item.campaign_id}")
        seen.add(key)
