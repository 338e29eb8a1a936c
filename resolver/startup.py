"""Start-up checks: refuse what is unsafe with real coupons, warn about what is merely open.

`resolver serve` runs them once, in its parent process, before any worker starts; the container's
`uvicorn … --factory` runs them in `app_from_environment`. Either way a problem is one line on
stderr naming what to fix, and the process exits 2; a warning is one log line, given once.

Only real coupons (PassKit credentials or a campaigns file) need a Redis of their own and a
secret key: `resolver serve`'s demo starts a private Redis and makes up a secret for its
workers. A start-up failure the lifespan finds later (a bad staff file) reaches uvicorn as one
line too (`OneLineStartupFailure`), not as a traceback.
"""

from __future__ import annotations

import difflib
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import redis
import structlog
from pydantic import ValidationError
from pydantic_settings import DotEnvSettingsSource

from resolver.domain.errors import ConfigurationError, ResolverError, StoreUnavailable
from resolver.settings import ENV_PREFIX, OTHER_VARIABLES, Settings, describe_error, load_settings
from resolver.storage import topologies

if TYPE_CHECKING:
    from collections.abc import Awaitable, Iterable, Mapping

    from starlette.types import ASGIApp, Message, Receive, Scope, Send

    from resolver.providers.campaigns import CampaignsFile

log = structlog.get_logger("resolver.startup")

SETTINGS = frozenset(f"{ENV_PREFIX}{name.upper()}" for name in Settings.model_fields)


def settings_or_exit(**overrides: object) -> Settings:
    """Settings from the environment plus explicit overrides; exits naming any bad variable."""
    try:
        return load_settings(
            **{name: value for name, value in overrides.items() if value is not None}
        )
    except ValidationError as error:
        refuse(describe_error(error))


def refuse(problem: str) -> NoReturn:
    """Stop start-up with one line on stderr (exit status 2)."""
    print(f"resolver: {one_line(problem)}", file=sys.stderr, flush=True)
    raise SystemExit(2)


def one_line(problem: str) -> str:
    """A message listing problems one per line (a file's, say) as one line of a log."""
    head, *rest = [line.strip() for line in problem.strip().splitlines()] or [""]
    if not rest:
        return head
    return f"{head} {'; '.join(rest)}" if head.endswith(":") else "; ".join([head, *rest])


def preflight(settings: Settings, *, embedded: bool) -> CampaignsFile | None:
    """Everything start-up can check before serving, in the order a person fixes it: the files,
    the settings, then Redis. Answers the campaigns file, if any; raises a `ResolverError`
    naming what to fix. (`embedded`: see `check`.)"""
    accounts = check_files(settings)
    check(settings, embedded=embedded)
    check_redis(settings)
    return accounts


def check_files(settings: Settings) -> CampaignsFile | None:
    """The campaigns file, if any, once the staff file (if any) has loaded too."""
    from resolver.providers import campaigns  # noqa: PLC0415  # start-up alone reads the files here
    from resolver.staff import directory  # noqa: PLC0415

    accounts = campaigns.load(settings.campaigns_file) if settings.campaigns_file else None
    if settings.staff_file:
        directory.load(Path(settings.staff_file), settings.staff_verification)
    return accounts


def check(settings: Settings, *, embedded: bool) -> None:
    """Raise `ConfigurationError` when these settings must not serve.

    `embedded`: `resolver serve` starts a private Redis and the sandbox itself when neither is
    configured; the app factory never does.
    """
    real = settings.upstream != "sandbox"
    if not embedded and not real and settings.passkit_base_url is None:
        if "upstream" in settings.model_fields_set:
            raise ConfigurationError(
                "RESOLVER_UPSTREAM=sandbox needs RESOLVER_PASSKIT_BASE_URL, the address of a "
                "running `resolver sandbox`"
            )
        raise ConfigurationError(
            "no back end is configured: set RESOLVER_PASSKIT_API_KEY and "
            "RESOLVER_PASSKIT_API_SECRET (or RESOLVER_PASSKIT_TOKEN), or RESOLVER_CAMPAIGNS_FILE "
            "(only `resolver serve` runs the built-in sandbox)"
        )
    if settings.redis_url is None and (real or not embedded):
        raise ConfigurationError(
            "RESOLVER_REDIS_URL is not set: the claims that stop a coupon being redeemed twice "
            "must live in a Redis that every replica shares and that outlives this process "
            "(only `resolver serve`'s demo starts a private one)"
        )
    if settings.secret_key is None and real:
        raise ConfigurationError(
            "RESOLVER_SECRET_KEY is not set: every replica must name a coupon's Redis keys "
            "with the same secret, whatever Redis forgets; set 32+ random bytes (e.g. "
            "`openssl rand -hex 32`), the same on every replica"
        )


def check_redis(settings: Settings) -> None:
    """Raise `StoreUnavailable` naming the Redis (never its password) when it does not answer."""
    if settings.redis_url is None:
        return
    try:
        topologies.ping(settings.redis_url, timeout=settings.redis_timeout)
    except (redis.RedisError, OSError) as error:
        raise StoreUnavailable(
            f"Redis at {redis_address(settings.redis_url)} does not answer ({error}): check "
            "RESOLVER_REDIS_URL and that Redis is running"
        ) from None


def redis_address(url: str) -> str:
    """Where a Redis URL points, without its user name or password."""
    return topologies.address(url)


def warnings(settings: Settings, names: Iterable[str]) -> list[str]:
    """What is open or ignored: `names` are the variables found (environment and `.env`)."""
    found = []
    if settings.upstream != "sandbox":  # the demo touches no real coupon
        if not settings.api_token:
            found.append(
                "RESOLVER_API_TOKEN is not set: the JSON API redeems coupons for anyone who "
                "can reach it"
            )
        if not settings.link_keys:
            found.append(
                "RESOLVER_LINK_KEYS is not set: links are not signed, so anyone who guesses a "
                "member's pass id can open (and redeem) their coupon"
            )
    for name in sorted({name.upper() for name in names}):
        if name.startswith(ENV_PREFIX) and name not in SETTINGS | OTHER_VARIABLES:
            close = difflib.get_close_matches(name, sorted(SETTINGS), n=1)
            hint = f"; did you mean {close[0]}?" if close else ""
            found.append(f"{name} is not a setting and is ignored{hint}")
    return found


def warn(settings: Settings, environ: Mapping[str, str] | None = None) -> None:
    """Log each warning once (logging must be configured first)."""
    environ = os.environ if environ is None else environ
    dotenv = DotEnvSettingsSource(Settings).env_vars  # the .env file the settings read
    for warning in warnings(settings, [*environ, *dotenv]):
        log.warning(warning)


class OneLineStartupFailure:
    """Pure ASGI middleware: a start-up the app refuses on purpose fails in one line.

    Starlette tells the server a lifespan failed with the formatted traceback, and uvicorn logs
    it. For a `ResolverError` (a bad staff file, say) the message alone says what to fix.
    Starlette sends that failure from inside its `except` block, so the error is at hand here.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    def __call__(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        # A request is handed on as it is, not awaited here: one frame fewer for every
        # request's coroutines to pass through each time they resume.
        if scope["type"] != "lifespan":
            return self.app(scope, receive, send)
        return self._lifespan(scope, receive, send)

    async def _lifespan(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_in_one_line(message: Message) -> None:
            problem = sys.exception()
            if message["type"] == "lifespan.startup.failed" and isinstance(problem, ResolverError):
                message = {**message, "message": one_line(str(problem))}
            await send(message)

        await self.app(scope, receive, send_in_one_line)
