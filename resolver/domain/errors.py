"""Every error the resolver raises on purpose, and when.

```
ResolverError
├── InvalidRequest ............ the caller sent something we will not act on (4xx, no upstream)
│   ├── InvalidLink ........... a link field is missing, too long, badly encoded or oddly spelled
│   │   └── BadSignature ...... signed links are on and this one's kid/sig is missing or wrong:
│   │                           answered exactly like an unknown coupon
│   ├── InvalidBody ........... unreadable body: bad JSON, bad form, wrong content type, too large
│   ├── InvalidFormToken ...... the confirm form's one-time token is missing, forged or expired
│   ├── Unauthorized .......... the JSON API's bearer token is missing or wrong
│   └── MethodNotAllowed ...... a HEAD or GET that must not redeem (only POST, or instant mode)
├── UpstreamError ............. the back end did not give a usable answer
│   ├── UpstreamUnreachable ... the request never left (connect error): nothing can have happened
│   ├── UpstreamTimeout ....... the request left and no answer came in time: outcome unknown
│   ├── UpstreamConnectionLost  the connection broke after the request left: outcome unknown
│   ├── UpstreamRejected ...... an answer other than success (status and message kept)
│   │   ├── UpstreamNotApplied  the back end says it applied nothing, for a reason that is not
│   │   │   │                   about the coupon (e.g. Skycore's E809): safe to try again
│   │   │   └── UpstreamAuthError  401/403: the credentials are wrong; nothing was applied
│   │   └── CouponRefused ..... the back end names why it refused the coupon (unknown, already
│   │                           redeemed, expired) in a documented way; nothing was applied
│   └── UpstreamBadAnswer ..... a 2xx whose body is not what the API documents
├── VerificationError ......... a staff code was needed and did not verify (nothing was claimed)
│   ├── VerificationRequired .. the campaign requires a staff code and none came
│   │   └── RedemptionCodeRequired  the offer asks for the cashier's code and none came
│   ├── VerificationFailed .... the code is no store's current code and no employee's PIN
│   │   └── RedemptionCodeWrong  the cashier's code is not one the offer accepts
│   └── VerificationLocked .... too many wrong codes for this coupon or from this client: wait
├── CouponChanged ............. the link now names another coupon than the one the member
│                               confirmed; nothing was redeemed (show the new one)
├── RateLimited ............... too many requests from one client or for one coupon (429)
├── StoreUnavailable .......... Redis cannot be reached: duplicate protection is impossible
├── StaffFileError ............ the staff file is missing, unreadable or invalid: start-up stops
└── ConfigurationError ........ the campaigns file cannot be used: start-up stops, naming the
                                file and the entry
```

The redemption use case turns upstream errors into outcomes (reading the coupon back when an
answer is unclear); the web layer turns input errors into 4xx pages and JSON.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from resolver.domain.coupons import CouponState, Link


class ResolverError(Exception):
    """Root of every error raised on purpose by the resolver."""


class InvalidRequest(ResolverError):
    """The request cannot be acted on; answered with a 4xx and no upstream call."""

    status_code = 400

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class InvalidLink(InvalidRequest):
    """A link parameter is missing, too long, badly encoded or outside the id alphabet."""


class BadSignature(InvalidLink):
    """Signed links are required and this link's signature is missing or wrong.

    Answered exactly like an unknown coupon (404), so a forged link learns nothing.
    """

    status_code = 404

    def __init__(self, link: Link) -> None:
        super().__init__("There is no active coupon for this link.")
        self.link = link


class InvalidBody(InvalidRequest):
    """The body cannot be read: bad JSON or form, unsupported content type, or too large."""

    def __init__(self, detail: str, status_code: int = 400) -> None:
        super().__init__(detail)
        self.status_code = status_code


class InvalidFormToken(InvalidRequest):
    """The confirm form's one-time token is missing, forged, expired or bound to another link."""

    status_code = 403


class Unauthorized(InvalidRequest):
    """The JSON API requires a bearer token and the request did not carry a valid one."""

    status_code = 401


class MethodNotAllowed(InvalidRequest):
    """A request whose method may not redeem here (HEAD always, GET outside instant mode)."""

    status_code = 405


class UpstreamError(ResolverError):
    """The back end did not answer usably."""


class UpstreamUnreachable(UpstreamError):
    """The request never reached the back end (DNS, connect, pool): safe to try again."""


class UpstreamTimeout(UpstreamError):
    """The request was sent but no answer came in time: it may or may not have been applied."""


class UpstreamConnectionLost(UpstreamError):
    """The connection broke after the request was sent (reset, protocol error): outcome unknown."""


class UpstreamRejected(UpstreamError):
    """The back end answered with a non-success status."""

    def __init__(self, status_code: int, message: str) -> None:
        super().__init__(f"{status_code}: {message}")
        self.status_code = status_code
        self.message = message


class UpstreamNotApplied(UpstreamRejected):
    """The back end said, in a documented way, that it applied nothing: the claim is released."""


class UpstreamAuthError(UpstreamNotApplied):
    """401 or 403: the credentials are wrong or lack permission; nothing was applied."""


class CouponRefused(UpstreamRejected):
    """The back end refused the coupon for a documented reason; nothing was applied.

    `state` is what the refusal says about the coupon. A back end that can read a coupon back
    still gets read back (for the redemption time); one that cannot is settled by this alone.
    """

    def __init__(self, status_code: int, message: str, state: CouponState) -> None:
        super().__init__(status_code, message)
        self.state = state


class UpstreamBadAnswer(UpstreamError):
    """A success status whose body is not what the API documents."""


class VerificationError(ResolverError):
    """A staff code was required or given, and it did not verify; nothing was claimed."""

    outcome = "verification_failed"
    status_code = 403


class VerificationRequired(VerificationError):
    """The campaign's policy is `required` and the request carried no staff code."""

    outcome = "verification_required"


class VerificationFailed(VerificationError):
    """The code matches no store's code of the moment and no employee's PIN."""

    def __init__(self, tries_left: int) -> None:
        super().__init__(f"wrong staff code; {tries_left} tries left")
        self.tries_left = tries_left


class VerificationLocked(VerificationError):
    """Too many wrong codes for this coupon link or from this client; retry after a while."""

    outcome = "verification_locked"
    status_code = 429

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"staff codes locked; retry after {retry_after} s")
        self.retry_after = retry_after


class RedemptionCodeRequired(VerificationRequired):
    """The offer asks for a code the cashier gives (PassKit's code provided on redeem) and the
    form carried none; nothing was claimed."""

    outcome = "redemption_code_required"


class RedemptionCodeWrong(VerificationFailed):
    """The cashier's code is not one the offer accepts; a try was counted, nothing claimed."""

    outcome = "redemption_code_wrong"


class CouponChanged(ResolverError):
    """The member confirmed a coupon the link no longer names (one was issued since): the back
    end refused the old one, nothing was redeemed, and the new one is theirs to confirm."""

    def __init__(self, coupon_id: str) -> None:
        super().__init__("the link's coupon was replaced since it was confirmed")
        self.coupon_id = coupon_id


class RateLimited(ResolverError):
    """Too many requests from one client IP or for one coupon link; retry after a while."""

    def __init__(self, retry_after: int, scope: str) -> None:
        super().__init__(f"rate limited ({scope}); retry after {retry_after} s")
        self.retry_after = retry_after
        self.scope = scope


class StoreUnavailable(ResolverError):
    """Redis cannot be reached, so duplicate protection cannot be guaranteed."""


class StaffFileError(ResolverError):
    """The staff file (RESOLVER_STAFF_FILE) cannot be read or is invalid; start-up stops.

    The message names the file and every problem by its place in the file, never a value.
    """


class ConfigurationError(ResolverError):
    """The deployment's configuration (the campaigns file) cannot be used; raised at start-up."""
