"""The offer's redemption type on the member's screens (`resolver.domain.hosted.Redeeming`):

- a **cashier's code** (PassKit's code provided on redeem): the confirm form asks for it with
  the offer's own label, helper and error texts, and `resolver.staff.cashier` checks it before
  anything is claimed, with the staff codes' tries and lockouts;
- a **fixed code** (or the coupon's SKU): the success screen shows it large, drawn as the
  offer's barcode type when it names one, with the offer's countdown when it sets one.

Either code goes upstream as `redemptionCode`. The confirm form's one-time token says which
coupon and offer the member confirmed, so the offer (cached) decides before the claim; a token
already used goes on without a code, as a staff code does: it can only get its own result.
This service's own staff verification is independent: when the campaign asks for it, both the
cashier's code and a staff code must pass, the cashier's first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Literal

from resolver.domain.errors import (
    RedemptionCodeRequired,
    RedemptionCodeWrong,
    VerificationFailed,
    VerificationRequired,
)
from resolver.domain.hosted import Redeeming
from resolver.domain.redemptions import Outcome, Till
from resolver.staff import cashier
from resolver.web.barcodes import barcode_svg
from resolver.web.clients import client_network
from resolver.web.services import services

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Mapping
    from datetime import datetime

    from markupsafe import Markup
    from starlette.requests import Request

    from resolver.domain.coupons import Coupon, Link, Offer
    from resolver.domain.redemptions import Redemption

REDEMPTION_CODE = "redemptionCode"


@dataclass(frozen=True, slots=True)
class CashierField:
    """The confirm form's field for the cashier's code, and what went wrong with the last one."""

    problem: Literal["missing", "wrong"] | None = None
    tries_left: int | None = None

    @classmethod
    def asking(cls, offer: Offer | None) -> CashierField | None:
        if offer is None or offer.hosted.redeeming is not Redeeming.CASHIER_CODE:
            return None
        return cls()

    def after(self, refusal: VerificationRequired | VerificationFailed) -> CashierField:
        if isinstance(refusal, RedemptionCodeWrong):
            return CashierField("wrong", refusal.tries_left)
        return CashierField("missing")


def is_cashier_refusal(refusal: Exception | None) -> bool:
    """Whether a refusal is about the cashier's code (not this service's staff code)."""
    return isinstance(refusal, RedemptionCodeWrong | RedemptionCodeRequired)


def asks_for_code(offer: Offer | None) -> bool:
    """Whether the offer asks the member for the cashier's code before redeeming."""
    return offer is not None and offer.hosted.redeeming is Redeeming.CASHIER_CODE


def fixed_code_of(offer: Offer | None, coupon: Coupon | None) -> Till | None:
    """The fixed code (or SKU) an offer shows for `coupon`, as what goes upstream, if any."""
    if offer is None or coupon is None or offer.hosted.redeeming is not Redeeming.FIXED_CODE:
        return None
    code = offer.hosted.shown_code(coupon.sku)
    return Till(code=code) if code else None


async def code_for(
    request: Request,
    link: Link,
    params: Mapping[str, str],
    token: str,
    admit: Callable[[], Awaitable[None]],
) -> tuple[Till | None, bool]:
    """The code the offer's redemption type adds to this confirmation (checked, for a
    cashier's code: raises when missing or wrong), and whether `admit` ran already."""
    app = services(request)
    minted = await app.redemptions.minted(link, token)
    if minted is None or minted.used or not minted.offer_id:
        return None, False
    offer = await app.redemptions.offer(link, minted.offer_id)
    if offer is None:
        return None, False
    hosted = offer.hosted
    if hosted.redeeming is Redeeming.CASHIER_CODE:
        await admit()  # over its rate limit, a client gets no code checked
        code = await cashier.check(
            hosted,
            params.get(REDEMPTION_CODE),
            tries=app.staff.lockout,
            coupon=app.redemptions.key(link),
            client=client_network(request),
        )
        return Till(code=code), True
    if hosted.redeeming is Redeeming.FIXED_CODE:
        sku = ""
        if hosted.use_sku:  # the SKU is the coupon's: read it (one more upstream call)
            coupon = await app.redemptions.coupon(link)
            sku = coupon.sku if coupon is not None and coupon.id == minted.coupon_id else ""
        code = hosted.shown_code(sku)
        return (Till(code=code) if code else None), False
    return None, False


@dataclass(frozen=True, slots=True)
class ShownCode:
    """The fixed code a success screen shows staff, until when, and whether that time is over."""

    code: str
    barcode: Markup | None
    until: datetime | None
    over: bool

    def seconds_left(self, now: datetime) -> int:
        return max(0, int((self.until - now).total_seconds()) + 1) if self.until else 0


def shown_code(result: Redemption, offer: Offer | None, now: datetime) -> ShownCode | None:
    """What a success screen shows of the offer's fixed code, if the offer shows one."""
    if offer is None or result.outcome is not Outcome.REDEEMED:
        return None
    hosted, code = offer.hosted, result.redemption_code
    if hosted.redeeming is not Redeeming.FIXED_CODE or not code:
        return None
    until = None
    if hosted.timer_seconds and result.redeemed_at is not None:
        until = result.redeemed_at + timedelta(seconds=hosted.timer_seconds)
    over = until is not None and now >= until
    return ShownCode(code, None if over else barcode_svg(code, hosted.barcode), until, over)
