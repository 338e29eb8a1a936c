"""A back end described by configuration: in-house APIs, Badge, a Make scenario.

The account says which request marks a coupon redeemed (`redeem`), how to tell a success
(`success`), which statuses are definite answers about the coupon (`outcomes`), and optionally
how to read a coupon back (`lookup`) and what the offer is (`offer`); see `http_templates`.

What each part means for exactly-once:
- with a `lookup` that reads a status, an unclear redeem is settled by reading back, as for
  PassKit;
- without one (Badge has no read; a Make webhook only answers "Accepted"), the back end cannot
  read back: the preview only knows the link, an unclear redeem stays "could not be confirmed"
  and is never sent again, and a success is remembered for `remember` seconds, since nothing
  else will remember it. A Make success means "queued", not "redeemed at PassKit".
- a status listed in `outcomes` is a definite refusal (nothing applied); `not_applied`
  releases the claim so the next tap may try again.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from resolver.domain.coupons import Coupon, CouponState, Link, Offer
from resolver.domain.errors import CouponRefused, UpstreamBadAnswer, UpstreamNotApplied
from resolver.providers import reading
from resolver.providers.exchange import HeadersAuth, refusal, send
from resolver.providers.http_templates import fill, json_at
from resolver.redemption.ports import Capabilities, RedeemAnswer

if TYPE_CHECKING:
    from collections.abc import Mapping

    import httpx

    from resolver.domain.redemptions import RedeemDetails
    from resolver.providers.http_templates import (
        LookupTemplate,
        RedeemTemplate,
        Rendered,
        StaticOffer,
    )

# Unix times above this are in milliseconds (as seconds, they would be past the year 5000).
MILLISECONDS_FROM = 100_000_000_000

STATES = {
    "no_active_coupon": CouponState.NO_ACTIVE_COUPON,
    "already_redeemed": CouponState.ALREADY_REDEEMED,
    "expired": CouponState.EXPIRED,
}
OFFER_ID = "configured"


class GenericHttp:
    """A `Provider` whose requests and answers are described by an account's configuration."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        name: str,
        base_url: str,
        redeem: RedeemTemplate,
        lookup: LookupTemplate | None = None,
        offer: StaticOffer | None = None,
        headers: Mapping[str, str] | None = None,
        secret_headers: Mapping[str, str] | None = None,
        coupon_id: str = "{external_id}",
        remember: float = 0.0,
    ) -> None:
        self._client = client
        self._base = base_url.rstrip("/")
        self._redeem = redeem
        self._lookup = lookup
        self._offer = offer
        self._headers = dict(headers or {})
        self._auth = HeadersAuth(secret_headers or {})
        self._coupon_id = coupon_id
        self.name = name
        self.capabilities = Capabilities(
            read_back=lookup is not None,
            # A redeem that can answer "already redeemed" refuses a second one; any other is
            # looked at first (with a lookup) or is never vouched for (without one).
            guards_redeem="already_redeemed" in redeem.outcomes.values(),
            offers=offer is not None,
            remember=0.0 if lookup is not None else remember,
        )

    async def lookup(self, link: Link) -> Coupon | None:
        if self._lookup is None:
            # Nothing to ask: the coupon is taken to exist, and whether it was used is unknown.
            return replace(self._coupon(link, self._synthetic_id(link)), use_known=False)
        rule = self._lookup
        response = await self._send(rule.render(_values(link)))
        if response.status_code in rule.missing_status:
            return None
        if not response.is_success:
            raise refusal(response, reading.raw_text(response))
        data = reading.json_object(response)
        status = reading.as_text(json_at(data, rule.status_path)).lower()
        if not status:
            raise UpstreamBadAnswer(f"lookup answer has no {rule.status_path}")
        redeemed = status in _lowered(rule.redeemed)
        redeemed_at = json_at(data, rule.redeemed_at_path) if rule.redeemed_at_path else None
        expires = json_at(data, rule.expires_at_path) if rule.expires_at_path else None
        return self._coupon(
            link,
            self._synthetic_id(link),
            redeemed=redeemed,
            redeemed_at=parse_time(redeemed_at) if redeemed else None,
            expiry_date=parse_time(expires),
            invalidated=status in _lowered(rule.void),
            expired=status in _lowered(rule.expired),
        )

    async def offer(self, offer_id: str) -> Offer | None:
        if self._offer is None:
            return None
        return Offer(
            id=OFFER_ID,
            title=self._offer.title,
            short_title=self._offer.title[:20],
            details=self._offer.details,
            fine_print=self._offer.fine_print,
        )

    async def redeem(
        self, link: Link, details: RedeemDetails, *, coupon_id: str | None = None
    ) -> RedeemAnswer:
        # Coupons are named by the link here, so the link alone names the coupon to redeem.
        rule = self._redeem
        response = await self._send(rule.render(_values(link, details)))
        outcome = rule.outcomes.get(response.status_code)
        if outcome == "not_applied":
            raise UpstreamNotApplied(response.status_code, reading.raw_text(response))
        if outcome is not None:
            raise CouponRefused(response.status_code, reading.raw_text(response), STATES[outcome])
        if response.status_code not in rule.success.status:
            if response.is_success:  # a 2xx the account did not call a success: unclear
                raise UpstreamBadAnswer(f"redeem answered {response.status_code}")
            raise refusal(response, reading.raw_text(response))
        reference = self._check_success(response)
        return RedeemAnswer(self._synthetic_id(link), reference=reference)

    def _check_success(self, response: httpx.Response) -> str | None:
        """The reference a success carries; `UpstreamBadAnswer` when the body is no success."""
        success = self._redeem.success
        if success.body_contains is not None and success.body_contains not in response.text:
            raise UpstreamBadAnswer(f"redeem answer lacks {success.body_contains!r}")
        data: object = None
        if success.json_path is not None or self._redeem.reference_path is not None:
            data = reading.json_object(response)
        if success.json_path is not None:
            found = reading.as_text(json_at(data, success.json_path)).lower()
            if found != (success.json_equals or "").lower():
                raise UpstreamBadAnswer(f"redeem answer's {success.json_path} is {found!r}")
        if self._redeem.reference_path is not None:
            return reading.as_text(json_at(data, self._redeem.reference_path)) or None
        return None

    async def _send(self, request: Rendered) -> httpx.Response:
        return await send(
            self._client,
            request.method,
            self._base + request.path,
            backend=self.name,
            json=request.body,
            params=request.query or None,
            headers={**self._headers, **request.headers},
            auth=self._auth,
        )

    def _synthetic_id(self, link: Link) -> str:
        # The same id from lookup and redeem: a stored result is matched to the coupon a page
        # showed by it, so the two must never disagree.
        return fill(self._coupon_id, _values(link))

    def _coupon(
        self,
        link: Link,
        coupon_id: str,
        *,
        redeemed: bool = False,
        redeemed_at: datetime | None = None,
        expiry_date: datetime | None = None,
        invalidated: bool = False,
        expired: bool = False,
    ) -> Coupon:
        return Coupon(
            id=coupon_id,
            campaign_id=link.campaign_id,
            external_id=link.external_id,
            offer_id=OFFER_ID if self._offer is not None else "",
            status="REDEEMED" if redeemed else "UNREDEEMED",
            expiry_date=expiry_date,
            redeemed_at=redeemed_at,
            invalidated=invalidated,
            expired=expired,
        )


def _values(link: Link, details: RedeemDetails | None = None) -> dict[str, str]:
    return {
        "campaign_id": link.campaign_id,
        "external_id": link.external_id,
        "source": details.source if details else "",
        "reference": details.reference if details else "",
        "now": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
    }


def parse_time(value: object) -> datetime | None:
    """A time as an API may write it: RFC 3339 with an offset, or Unix time in seconds or
    milliseconds. One without an offset is left unknown: its zone cannot be told."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return reading.parse_date(value)
    seconds = value / 1000 if value >= MILLISECONDS_FROM else value
    try:
        return datetime.fromtimestamp(seconds, UTC) if seconds > 0 else None
    except (OverflowError, OSError, ValueError):
        return None


def _lowered(values: list[str]) -> set[str]:
    return {value.lower() for value in values}
