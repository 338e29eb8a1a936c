"""The redemption use case: preview a link, redeem its active coupon at most once, follow
an attempt to its result.

`Redemptions` is the use case (`redemptions`), `attempts` runs a claimed attempt to its settle,
`policy` holds the timings and the lease rule, `offers` reads coupons and cached offers, and
`ports` declares what the use case needs from a back end and from the claim store. This
package imports the domain and nothing else of the service: no HTTP, httpx or Redis.
"""

from resolver.redemption.doubts import Preview
from resolver.redemption.policy import Policy
from resolver.redemption.redemptions import Admission, Redemptions, Verify

__all__ = ["Admission", "Policy", "Preview", "Redemptions", "Verify"]
