"""The web side of staff verification and location: the confirm form's extra fields, read back.

- `staffCode` (the confirm form's code field; the API's query, JSON or form field) becomes the
  staff check the use case runs before it claims anything, when the campaign's policy asks;
- `lat` and `lon` (filled by static/location.js when the member chooses to share the phone's
  position) become the location sent upstream, when RESOLVER_CAPTURE_LOCATION is on.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Literal

from resolver.domain.errors import InvalidBody, VerificationFailed, VerificationRequired
from resolver.web.clients import client_network
from resolver.web.services import services

if TYPE_CHECKING:
    from collections.abc import Mapping

    from starlette.requests import Request

    from resolver.domain.coupons import Link
    from resolver.domain.redemptions import VerificationPolicy
    from resolver.redemption import Verify

STAFF_CODE = "staffCode"
# About 11 m: enough to tell which store a phone was in, and no more of the member's position.
LOCATION_DECIMALS = 4


@dataclass(frozen=True, slots=True)
class StaffField:
    """The confirm form's staff code field, and what went wrong with the last code, if anything."""

    required: bool
    problem: Literal["missing", "wrong"] | None = None
    tries_left: int | None = None

    @classmethod
    def asking(cls, policy: VerificationPolicy) -> StaffField | None:
        return None if policy == "off" else cls(required=policy == "required")

    def after(self, refusal: VerificationRequired | VerificationFailed) -> StaffField:
        if isinstance(refusal, VerificationFailed):
            return StaffField(self.required, "wrong", refusal.tries_left)
        return StaffField(self.required, "missing")


def staff_check(request: Request, link: Link, params: Mapping[str, str]) -> Verify | None:
    """The staff check for this request, or None when the link's campaign asks for none."""
    staff = services(request).staff
    if staff.policy(link.campaign_id) == "off":
        return None
    return partial(
        staff.verify,
        campaign_id=link.campaign_id,
        code=params.get(STAFF_CODE),
        client=client_network(request),
    )


def location_from(params: Mapping[str, str], *, enabled: bool) -> tuple[float, float] | None:
    """(lat, lon) when location capture is on and the form carries both, rounded; else None.

    The page's script only ever sends what the browser measured, so anything out of range was
    typed by hand and is refused rather than sent upstream.
    """
    if not enabled:
        return None
    lat, lon = params.get("lat", "").strip(), params.get("lon", "").strip()
    if not lat and not lon:
        return None
    try:
        latitude, longitude = float(lat), float(lon)
    except ValueError:
        raise InvalidBody("lat and lon must be given together, as numbers") from None
    if not (math.isfinite(latitude) and math.isfinite(longitude)) or not (
        -90 <= latitude <= 90 and -180 <= longitude <= 180
    ):
        raise InvalidBody("lat must be within -90..90 and lon within -180..180")
    return round(latitude, LOCATION_DECIMALS), round(longitude, LOCATION_DECIMALS)
