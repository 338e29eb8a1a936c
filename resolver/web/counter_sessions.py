"""A staff device's session on one store's counter view: a signed cookie, and what it needs.

Once a device has shown the store's code or an employee's PIN, it holds a JWT (PyJWT, HS256,
with a key derived from the deployment's secret for this one purpose) naming the store, who
signed in and until when, in a cookie that is HttpOnly (no script reads it), SameSite=Strict
(no other site's page can send it, so sign-out needs no form token), `Secure` on https, and
scoped by its path to that store's pages. Nothing is kept on the server: signing out removes the
cookie from the device; a copied cookie stays good until it expires, and a new secret key ends
every session at once.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Protocol

import jwt

from resolver.domain.redemptions import Attribution

if TYPE_CHECKING:
    from collections.abc import Callable
    from contextlib import AbstractAsyncContextManager

    from resolver.domain.counter import CounterEntry
    from resolver.domain.coupons import Offer
    from resolver.staff.counter import CounterAccess

COOKIE = "rr_counter"
AUDIENCE = "resolver-counter"
ALGORITHM = "HS256"


class Entries(Protocol):
    """A store's new audit entries, one page's worth (`resolver.storage.audit_feed`)."""

    async def next(self) -> CounterEntry | None:
        """The next entry, waiting for it; None when this page fell behind."""
        ...


class Feed(Protocol):
    """The audit stream as counter views read it (`resolver.storage.audit_feed.AuditFeed`)."""

    async def recent(self, store: str, *, limit: int, since: datetime) -> list[CounterEntry]:
        """The store's latest `limit` entries since `since`, newest first."""
        ...

    async def after(self, store: str, last_id: str, *, limit: int) -> list[CounterEntry]:
        """The store's entries after the stream id `last_id`, oldest first."""
        ...

    def subscribe(self, store: str) -> AbstractAsyncContextManager[Entries]:
        """The store's new entries while the context is open."""
        ...


@dataclass(frozen=True, slots=True)
class Session:
    """Who opened a store's counter view on this device, and until when."""

    who: Attribution
    expires: datetime


class Sessions:
    """Issues and reads counter sessions."""

    def __init__(self, secret: bytes, lifetime: int, clock: Callable[[], datetime]) -> None:
        self._key = hmac.new(secret, b"resolver-counter-session", hashlib.sha256).digest()
        self.lifetime = lifetime
        self._clock = clock

    def issue(self, who: Attribution) -> str:
        now = int(self._clock().timestamp())
        claims = {
            "aud": AUDIENCE,
            "sub": who.store_id,
            "store": who.store_name,
            "emp": who.employee_id or "",
            "name": who.employee_name or "",
            "iat": now,
            "exp": now + self.lifetime,
        }
        return jwt.encode(claims, self._key, algorithm=ALGORITHM)

    def read(self, token: str | None, store_id: str) -> Session | None:
        """The session `token` holds for `store_id`, or None (absent, forged, another store's,
        expired by the app's clock)."""
        if not token:
            return None
        try:
            claims = jwt.decode(
                token,
                self._key,
                algorithms=[ALGORITHM],
                audience=AUDIENCE,
                # Expiry is checked below against the app's clock, which tests may move.
                options={"require": ["sub", "exp", "iat"], "verify_exp": False},
            )
        except jwt.InvalidTokenError:
            return None
        expires = datetime.fromtimestamp(int(claims["exp"]), UTC)
        if claims["sub"] != store_id or expires <= self._clock():
            return None
        who = Attribution(
            store_id,
            str(claims.get("store") or store_id),
            str(claims.get("emp") or "") or None,
            str(claims.get("name") or "") or None,
        )
        return Session(who, expires)


@dataclass(frozen=True, slots=True)
class Counter:
    """What the counter view uses: the staff check, the sessions and the audit stream."""

    access: CounterAccess
    sessions: Sessions
    feed: Feed
    rows: int  # entries listed when a page opens
    # (campaign, offer id) → (monotonic expiry, offer): every open page of a store renders each
    # new row, and this spares them all but one trip to the offer cache in Redis per minute.
    offers: dict[tuple[str, str], tuple[float, Offer | None]] = field(default_factory=dict)
