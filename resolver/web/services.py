"""What the lifespan opens, handed to endpoints through one typed accessor.

The web layer names what it needs of the adapters as protocols (`Readiness`, `Budget`), so it
depends on the use case and the domain, never on Redis.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, cast

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime

    from starlette.requests import Request
    from starlette.templating import Jinja2Templates

    from resolver.draining import Drain
    from resolver.redemption import Redemptions
    from resolver.settings import Settings
    from resolver.staff.verification import StaffCheck
    from resolver.web.counter_sessions import Counter
    from resolver.web.i18n import Catalogues


class Readiness(Protocol):
    """The store readiness asks: answers, or raises `StoreUnavailable`."""

    async def ping(self) -> None: ...


class Budget(Protocol):
    """Each client network's budget of misses (`resolver.storage.ratelimit.MissBudget`)."""

    async def check(self, client: str) -> None:
        """Raise RateLimited when `client` has spent its misses."""
        ...

    async def miss(self, client: str) -> None:
        """Spend one of `client`'s misses."""
        ...


@dataclass(frozen=True, slots=True)
class Services:
    """Everything an endpoint may use; built once per process by `create_app`'s lifespan."""

    settings: Settings
    redemptions: Redemptions
    store: Readiness
    misses: Budget
    staff: StaffCheck  # verification policies per campaign, and the staff code check
    templates: Jinja2Templates
    catalogues: Catalogues
    # A description for operators' logs, e.g. "passkit (eu)"; never served: it names hosts
    # and accounts.
    upstream: str
    clock: Callable[[], datetime]  # the pages' "now", the same one the use case follows
    drain: Drain  # begun by SIGTERM: the process is finishing what it has and taking nothing new
    counter: Counter | None = None  # the staff's counter view, when it is on and stores exist


def services(request: Request) -> Services:
    """The running app's services (instead of poking `request.state` everywhere)."""
    return cast("Services", request.state.services)
