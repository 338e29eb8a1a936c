"""Skycore v3 coupon passes (docs/backends.md).

Every call is a `POST` of `{"action": …}` to the account's own endpoint URL (shown on its API
settings page) with an `X-Api-Key` header. A permanent link names the pass template
(`campaignId` = `pass-template-id`) and the pass (`externalId` = `pass-id`). Answers carry
`"status": "Success"` or `"Failure"` (spelt `FAILURE` too: compared case-insensitively) with an
`error-code` and `error-message`.

- Redeem: `updatepassdata` with `"pass-data": {"pass-status": "redeemed"}` and `priority: true`.
  The pass keeps its id (`new-pass-id`, which the docs' prose asks for, would break the permanent
  link). Updates are queued: the answer's `tracking-id` is kept on the receipt.
- Read: `getpassdata`, whose documented answer has no `pass-status`: it proves the pass exists
  and gives its expiry, never whether it was redeemed. So the pass is read before every redeem
  (an expired pass is never updated), a success is the first redemption this service knows
  of (never vouched for), an unclear redeem stays "could not be confirmed" and is never sent
  again, and a success is remembered for as long as the account says (`remember`), because
  nothing else will. Should a real answer carry `pass-status`, it is honoured everywhere.
- A `Failure` answer is Skycore saying the action failed, as its one redeem example does (E809,
  "Internal Error. The pass was not updated."): nothing was applied, so the claim is released
  and the next tap may try again. Codes that name the coupon settle it instead: E808 (the
  pass-id is invalid) and E802 (the pass-template-id is invalid) → no active coupon.
  Only a lost answer (timeout, broken connection, a 5xx without a body) stays unclear.
  A refusal of a bad API key is undocumented: expected as 401/403 or as a Failure.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from resolver.domain.coupons import Coupon, CouponState, Link, Offer
from resolver.domain.errors import (
    CouponRefused,
    UpstreamBadAnswer,
    UpstreamNotApplied,
    UpstreamRejected,
)
from resolver.providers import reading
from resolver.providers.exchange import HeadersAuth, refusal, send
from resolver.redemption.ports import Capabilities, RedeemAnswer

if TYPE_CHECKING:
    import httpx

    from resolver.domain.redemptions import RedeemDetails

BACKEND = "Skycore"
# What a documented error code says about the pass, for a redeem.
REFUSALS = {
    "E808": CouponState.NO_ACTIVE_COUPON,  # The pass-id value is invalid.
    "E802": CouponState.NO_ACTIVE_COUPON,  # The pass-template-id value is invalid.
}


class SkycoreFailure(Exception):
    """A `"status": "Failure"` answer (internal: each call decides what it means)."""

    def __init__(self, http_status: int, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.http_status = http_status
        self.code = code
        self.message = message


class Skycore:
    """A `Provider` for one Skycore account's coupon passes."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        name: str,
        endpoint: str,
        api_key: str,
        remember: float,
    ) -> None:
        self._client = client
        self._endpoint = endpoint
        self._auth = HeadersAuth({"X-Api-Key": api_key})
        self.name = name
        # getpassdata tells expiry, and whether the pass was used only when its answer carries
        # a pass-status (the documented one does not); updatepassdata applies whatever it is
        # sent, used or expired, so the pass is looked at before every redeem.
        self.capabilities = Capabilities(
            read_back=True, guards_redeem=False, offers=True, remember=remember
        )

    async def lookup(self, link: Link) -> Coupon | None:
        try:
            data = await self._call("getpassdata", _ids(link))
        except SkycoreFailure as failure:
            if failure.code in REFUSALS:
                return None
            raise _unclear(failure) from None
        return parse_pass_data(reading.as_object(data.get("pass-data")), link)

    async def offer(self, offer_id: str) -> Offer | None:
        try:
            data = await self._call("getpasstemplate", {"pass-template-id": offer_id})
        except SkycoreFailure as failure:
            if failure.code in REFUSALS:
                return None
            raise _unclear(failure) from None
        return parse_template(reading.as_object(data.get("pass-template")), offer_id)

    async def redeem(
        self, link: Link, details: RedeemDetails, *, coupon_id: str | None = None
    ) -> RedeemAnswer:
        # Coupons are named by the link here, so the link alone names the coupon to redeem.
        body = {**_ids(link), "priority": True, "pass-data": {"pass-status": "redeemed"}}
        try:
            data = await self._call("updatepassdata", body)
        except SkycoreFailure as failure:
            state = REFUSALS.get(failure.code)
            if state is not None:
                raise CouponRefused(failure.http_status, str(failure), state) from None
            raise UpstreamNotApplied(failure.http_status, str(failure)) from None
        return RedeemAnswer(
            link.external_id, reference=reading.as_text(data.get("tracking-id")) or None
        )

    async def _call(self, action: str, fields: dict[str, Any]) -> dict[str, Any]:
        response = await send(
            self._client,
            "POST",
            self._endpoint,
            backend=BACKEND,
            json={"action": action, **fields},
            auth=self._auth,
        )
        if response.status_code in (401, 403):
            raise refusal(response, reading.raw_text(response))
        data = _json(response)
        status = reading.as_text(data.get("status")).lower()
        if status == "failure":  # Skycore said the action failed, whatever the HTTP status
            raise SkycoreFailure(
                response.status_code,
                reading.as_text(data.get("error-code")) or "no error-code",
                reading.as_text(data.get("error-message"))[: reading.MESSAGE_LIMIT]
                or reading.raw_text(response),
            )
        if not response.is_success:  # e.g. a proxy's 502: the answer, not the action, failed
            raise refusal(response, reading.raw_text(response))
        if status != "success":
            raise UpstreamBadAnswer(f"{action} answered without a status")
        return data


def parse_pass_data(data: dict[str, Any], link: Link) -> Coupon:
    """A `getpassdata` answer: the pass exists and expires when it says; whether it was used is
    known only when the answer carries a `pass-status` (undocumented: honoured if present)."""
    status = reading.as_text(data.get("pass-status")).lower()
    return Coupon(
        use_known=bool(status),
        id=link.external_id,
        campaign_id=link.campaign_id,
        external_id=link.external_id,
        offer_id=link.campaign_id,
        status="REDEEMED" if status == "redeemed" else "UNREDEEMED",
        expiry_date=parse_time(data.get("expiration-timestamp")),
        invalidated=status == "voided",
    )


def parse_template(data: dict[str, Any], template_id: str) -> Offer:
    """A `getpasstemplate` answer as the offer a page shows."""
    title = reading.as_text(data.get("offer-title")) or reading.as_text(data.get("pass-name"))
    return Offer(
        id=template_id,
        title=title,
        short_title=title[:20],
        details=reading.as_text(data.get("offer-details")),
        fine_print=reading.as_text(data.get("offer-terms")),
    )


def parse_time(value: object) -> datetime | None:
    """An ISO 8601 timestamp in UTC ("2019-02-01T10:46:46+00:00"; the offset is ignored)."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    # Skycore ignores the offset and reads the wall-clock time as UTC; so does this.
    return parsed.replace(tzinfo=UTC)


def _ids(link: Link) -> dict[str, Any]:
    return {"pass-id": link.external_id, "pass-template-id": link.campaign_id}


def _unclear(failure: SkycoreFailure) -> UpstreamRejected:
    return UpstreamRejected(failure.http_status, str(failure))


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}
