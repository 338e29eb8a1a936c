"""`create_sandbox_app`: every simulated back end and the `/_sandbox/` admin API over one state.

/coupon/singleUse/…      PassKit (`passkit_api`; create, void, offers and regions: `passkit_writes`)
/passworks/v2/…          Passworks (`passworks_api`)
/skycore/api             Skycore (`skycore_api`)
/walletobjects/v1/…      Google Wallet (`google_wallet_api`), with /oauth2/token
/generic/inhouse/…       an in-house coupon API (`inhouse_api`)
/generic/badge/…         Badge's pass upsert, and /generic/make/… a Make webhook (`badge_api`)
/_sandbox/…              coupons, stats, faults and reset for all of them (`admin`)
/hooks/…                 a receiver of the resolver's signed events (`receiver`)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from starlette.applications import Starlette

from resolver_sandbox.admin import AdminApi
from resolver_sandbox.auth import DEFAULT_API_KEY, DEFAULT_API_SECRET, Authenticator
from resolver_sandbox.badge_api import BadgeAndMakeApi
from resolver_sandbox.errors import GrpcCode, SandboxError, error_response, sandbox_error_response
from resolver_sandbox.google_oauth import TokenIssuer
from resolver_sandbox.google_wallet_api import GoogleWalletApi
from resolver_sandbox.inhouse_api import InhouseApi
from resolver_sandbox.passkit_api import PassKitApi
from resolver_sandbox.passkit_writes import PassKitWrites
from resolver_sandbox.passworks_api import PassworksApi
from resolver_sandbox.receiver import Receiver
from resolver_sandbox.skycore_api import SkycoreApi
from resolver_sandbox.state import SandboxState

if TYPE_CHECKING:
    from collections.abc import Callable

    from starlette.requests import Request
    from starlette.responses import Response


def create_sandbox_app(
    state: SandboxState | None = None,
    *,
    api_key: str = DEFAULT_API_KEY,
    api_secret: str = DEFAULT_API_SECRET,
    token: str | None = None,
    latency_ms: float = 0.0,
    google_keys: dict[str, str] | None = None,
    on_reset: Callable[[], None] | None = None,
    receiver: Receiver | None = None,
) -> Starlette:
    """A simulator of every back end over `state` (a new demo-seeded one by default).

    `api_key` and `api_secret` are the PassKit REST credentials JWTs must be made with;
    `token`, when given, is also accepted as a legacy `Bearer` token; `latency_ms` delays every
    call; `google_keys` (service account e-mail → public key PEM) makes the OAuth endpoint check
    assertion signatures; `on_reset` runs after every `POST /_sandbox/reset`. The state is
    reachable as `app.state.sandbox` (or `sandbox_state(app)`), the OAuth endpoint as
    `app.state.google_tokens`, the events' receiver (`receiver`) as `app.state.receiver`.
    """
    if state is None:
        state = SandboxState()
        state.seed_demo()
    auth = Authenticator(api_key=api_key, api_secret=api_secret, token=token)
    passkit = PassKitApi(state, auth, latency_ms=latency_ms)
    tokens = TokenIssuer(public_keys=google_keys)
    receiver = receiver or Receiver()
    app = Starlette(
        routes=[
            *passkit.routes(),
            *PassKitWrites(state, auth, latency_ms=latency_ms).routes(),
            *PassworksApi(state, latency_ms=latency_ms).routes(),
            *SkycoreApi(state, latency_ms=latency_ms).routes(),
            *tokens.routes(),
            *GoogleWalletApi(state, tokens, latency_ms=latency_ms).routes(),
            *InhouseApi(state, latency_ms=latency_ms).routes(),
            *BadgeAndMakeApi(state, latency_ms=latency_ms).routes(),
            *AdminApi(state, on_reset).routes(),
            *receiver.routes(),
        ],
        exception_handlers={
            404: _not_found,
            405: _method_not_allowed,
            SandboxError: _sandbox_error,
            Exception: _internal_error,
        },
    )
    # grpc-gateway answers 404 for "/path/", where Starlette would redirect to "/path".
    app.router.redirect_slashes = False
    app.state.sandbox = state
    app.state.google_tokens = tokens
    app.state.receiver = receiver
    return app


def sandbox_state(app: Starlette) -> SandboxState:
    """The state a sandbox app serves."""
    state = app.state.sandbox
    if not isinstance(state, SandboxState):
        raise TypeError("app was not made by create_sandbox_app")
    return state


async def _not_found(request: Request, exc: Exception) -> Response:
    return error_response(GrpcCode.NOT_FOUND, "Not Found")


async def _method_not_allowed(request: Request, exc: Exception) -> Response:
    # grpc-gateway's routing error handler turns 405 into 501 Unimplemented.
    return error_response(GrpcCode.UNIMPLEMENTED, "Method Not Allowed")


async def _sandbox_error(request: Request, exc: Exception) -> Response:
    # Registered for SandboxError only; Starlette's handler type says Exception.
    return sandbox_error_response(cast("SandboxError", exc))


async def _internal_error(request: Request, exc: Exception) -> Response:
    # Starlette still re-raises the exception after this answer, so the bug gets logged.
    return error_response(GrpcCode.INTERNAL, "internal sandbox error")
