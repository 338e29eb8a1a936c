"""Every call to a back end, counted and timed: a `Provider` that wraps another.

The calls are watched at the port (`lookup`, `offer`, `redeem`) rather than at each HTTP
request, because that is what a redemption waits for: a back end's redeem may take a token
fetch and a read before its write, and the duration here covers all of it. The result is the
class of the failure, as `resolver.providers.exchange` and the providers sorted it; `abandoned`
is a call cancelled by the use case's deadline (or a shutdown) before it ended. A rejection is
split by its status: a 4xx is the back end answering about the request (PassKit's 404 for an
unknown coupon), a 5xx is the back end failing.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, TypeVar

from resolver.domain.errors import (
    CouponRefused,
    UpstreamAuthError,
    UpstreamBadAnswer,
    UpstreamConnectionLost,
    UpstreamNotApplied,
    UpstreamRejected,
    UpstreamTimeout,
    UpstreamUnreachable,
)

if TYPE_CHECKING:
    from collections.abc import Awaitable

    from resolver.domain.coupons import Coupon, Link, Offer
    from resolver.domain.redemptions import RedeemDetails
    from resolver.observability.metrics import Metrics
    from resolver.redemption.ports import Capabilities, Provider, RedeemAnswer

T = TypeVar("T")
# Most specific first: an auth error is a refusal to apply, which is a rejection.
RESULTS: tuple[tuple[type[BaseException], str], ...] = (
    (UpstreamAuthError, "auth_error"),
    (UpstreamNotApplied, "not_applied"),
    (CouponRefused, "refused"),
    (UpstreamUnreachable, "unreachable"),
    (UpstreamTimeout, "timeout"),
    (UpstreamConnectionLost, "connection_lost"),
    (UpstreamBadAnswer, "bad_answer"),
    (asyncio.CancelledError, "abandoned"),
)


def result_of(error: BaseException) -> str:
    """The `result` label of a call that raised `error`."""
    if isinstance(error, UpstreamRejected) and not isinstance(
        error, UpstreamAuthError | UpstreamNotApplied | CouponRefused
    ):
        return "rejected_5xx" if error.status_code >= 500 else "rejected_4xx"
    for kind, result in RESULTS:
        if isinstance(error, kind):
            return result
    return "error"


class ObservedProvider:
    """`provider`, with each call counted and timed in `metrics`."""

    def __init__(self, provider: Provider, metrics: Metrics) -> None:
        self._provider = provider
        self._metrics = metrics
        self._name = provider.name

    @property
    def name(self) -> str:
        return self._name

    @property
    def capabilities(self) -> Capabilities:
        return self._provider.capabilities

    async def lookup(self, link: Link) -> Coupon | None:
        return await self._watch("lookup", self._provider.lookup(link))

    async def offer(self, offer_id: str) -> Offer | None:
        return await self._watch("offer", self._provider.offer(offer_id))

    async def redeem(
        self, link: Link, details: RedeemDetails, *, coupon_id: str | None = None
    ) -> RedeemAnswer:
        return await self._watch(
            "redeem", self._provider.redeem(link, details, coupon_id=coupon_id)
        )

    async def _watch(self, operation: str, call: Awaitable[T]) -> T:
        started = time.perf_counter()
        result = "ok"
        try:
            return await call
        except BaseException as error:  # counted, then raised again untouched
            result = result_of(error)
            raise
        finally:
            self._metrics.upstream(self._name, operation, result, time.perf_counter() - started)
