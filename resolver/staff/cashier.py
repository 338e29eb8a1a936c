"""The code a cashier gives the member to type, when the offer asks for one (PassKit's
`REDEMPTION_TYPE_CUSTOMER_INITIATED_CODE_PROVIDED_ON_REDEEM`), checked before anything is
claimed, with the same tries and lockouts as staff codes.

    no code .................................. refused (RedemptionCodeRequired), no try taken
    a code: take a try (locked? refused) → accepted? give the try back : refused, tries left

Which codes are accepted: with `validCodes`, one of them (and the `validation` pattern too, when
the offer sets one); without, any code matching `validation` in full; with neither, any code
(it is only recorded). The pattern comes from upstream, so it is compiled with RE2 (linear
time, bounded memory: no pattern can make a check slow) and a pattern RE2 cannot compile accepts
nothing rather than everything.
"""

from __future__ import annotations

import hmac
from functools import lru_cache
from typing import TYPE_CHECKING

import re2
import structlog

from resolver.domain.errors import RedemptionCodeRequired, RedemptionCodeWrong, VerificationLocked

if TYPE_CHECKING:
    from resolver.domain.hosted import Hosted
    from resolver.staff.verification import Tries

log = structlog.get_logger("resolver.staff")
MAX_CODE = 64
# RE2's memory budget for one offer's pattern: ample for any input mask, small for a server.
PATTERN_MEMORY = 1 << 20


def accepts(hosted: Hosted, code: str) -> bool:
    """Whether the offer accepts `code` as the cashier's code."""
    if not code or len(code) > MAX_CODE:
        return False
    if hosted.code_pattern:
        pattern = _compiled(hosted.code_pattern)
        if pattern is None or pattern.fullmatch(code) is None:
            return False
    if hosted.valid_codes:
        # Every listed code is compared, without stopping early: timing tells nothing.
        matched = False
        for valid in hosted.valid_codes:
            matched |= hmac.compare_digest(code.encode(), valid.encode())
        return matched
    return True


@lru_cache(maxsize=64)
def _compiled(pattern: str) -> re2._Regexp[str] | None:
    options = re2.Options()
    options.max_mem = PATTERN_MEMORY
    options.log_errors = False
    try:
        return re2.compile(pattern, options)
    except re2.error:
        log.warning("cashier_code_pattern_unusable")
        return None


async def check(
    hosted: Hosted, typed: str | None, *, tries: Tries, coupon: str, client: str
) -> str:
    """The cashier's code, accepted; raises RedemptionCodeRequired, RedemptionCodeWrong (with
    the tries left) or VerificationLocked. `coupon` is the link's hashed key."""
    code = (typed or "").strip()
    if not code:
        structlog.contextvars.bind_contextvars(redemption_code="missing")
        raise RedemptionCodeRequired("the offer asks for the code staff give")
    try:
        taken = await tries.take(coupon, client)
    except VerificationLocked:
        structlog.contextvars.bind_contextvars(redemption_code="locked")
        raise
    if not accepts(hosted, code):
        structlog.contextvars.bind_contextvars(redemption_code="wrong", tries_left=taken.left)
        if taken.left <= 0:
            raise VerificationLocked(max(1, int(tries.period)))
        raise RedemptionCodeWrong(taken.left)
    await tries.give_back(taken)
    structlog.contextvars.bind_contextvars(redemption_code="accepted")
    return code
