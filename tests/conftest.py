"""Fixtures: a real Redis, settings, the PassKit double and a client to a running app."""

from __future__ import annotations

import os
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import httpx
import pytest
import respx
from asgi_lifespan import LifespanManager
from redis.asyncio import Redis
from resolver_sandbox.embedded import EmbeddedRedis
from sse_starlette.sse import AppStatus

from resolver import backends
from resolver.app import create_app
from resolver.providers.transport import PoolsTransport
from resolver.settings import Settings
from tests.support.passkit import BASE_URL, PassKitDouble
from tests.support.topologies import client_for, cluster_nodes, empty, sentinel_nodes

__all__ = ["cluster_nodes", "sentinel_nodes"]  # the topologies' session fixtures

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable, Iterator

    from starlette.applications import Starlette

    from resolver.web.services import Services

BROWSER = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """RESOLVER_TEST_REDIS_URL when set (it gets flushed!), else a private redis-server."""
    url = os.environ.get("RESOLVER_TEST_REDIS_URL")
    if url:
        yield url
        return
    with EmbeddedRedis() as server:
        yield server.url


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    """A client to the test Redis, emptied before each test.

    Emptied on purpose with nothing in flight, so it is marked as remembering everything from
    now on: an app still running from an earlier test must not take it for a loss of memory.
    """
    client = client_for(redis_url)
    await empty(client)
    yield client
    await client.aclose()


SECRET_KEY = "test-hash-secret"


def settings_for(redis_url: str, /, **overrides: Any) -> Settings:
    """Settings for a test app: PassKit at the respx double, the test Redis, known secrets."""
    values: dict[str, Any] = {
        "_env_file": None,
        "upstream": "passkit",
        "passkit_base_url": BASE_URL,
        "passkit_api_key": "test-key",
        "passkit_api_secret": "test-secret-of-at-least-32-bytes!",
        "redis_url": redis_url,
        "secret_key": SECRET_KEY,
        "log_format": "json",
        "upstream_timeout": 2.0,
        # Tests of rate limits turn them on; elsewhere 100 taps from one test client are fine.
        "rate_limit_misses": "off",
        "rate_limit_coupon": "off",
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def make_settings(redis_url: str) -> Callable[..., Settings]:
    def make(**overrides: Any) -> Settings:
        return settings_for(redis_url, **overrides)

    return make


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings()


@pytest.fixture(autouse=True)
def sse_streams_open() -> None:
    """Each test starts with sse-starlette's shutdown flag down.

    sse-starlette ends every open stream once any uvicorn server of the process begins to exit
    (a process-global flag, right for a worker, which exits once); a test session starts and
    stops many servers in one process, and one stopped earlier would end a later test's streams.
    """
    AppStatus.should_exit = False


@pytest.fixture(autouse=True, scope="session")
def httpx_upstream_transport() -> Iterator[None]:
    """Apps under test send upstream through httpx's own transport, which respx mocks.

    For the whole session, so that apps made by module- and session-scoped fixtures (the
    browser tests' live servers) get it too. The transport a real process uses (`http1`) meets
    every failure kind at real sockets in tests/providers/test_transport_failures.py, and
    whole in the end-to-end tests.
    """
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(backends, "Http1Transport", PoolsTransport)
        yield


@pytest.fixture
def passkit() -> Iterator[PassKitDouble]:
    """PassKit at the network boundary; any request no route matches fails the test."""
    with respx.mock(base_url=BASE_URL, assert_all_called=False, assert_all_mocked=True) as router:
        yield PassKitDouble(router)


class Clock:
    """The clock an app under test reads (`create_app(clock=...)`), moved on by `shift`.

    It runs with real time, or stands still at `frozen` when a test reads exact durations.
    """

    def __init__(self, frozen: datetime | None = None) -> None:
        self.frozen = frozen
        self.shift = timedelta(0)

    def __call__(self) -> datetime:
        return (self.frozen or datetime.now(UTC)) + self.shift


@asynccontextmanager
async def serving(app: Starlette) -> AsyncIterator[Services]:
    """The services of `app` with its lifespan running, for tests that call the use case."""
    async with app.router.lifespan_context(app) as state:
        assert state is not None
        yield state["services"]


@asynccontextmanager
async def running(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    """A client to `app` with its lifespan running, as a phone's browser would call it."""
    async with (
        LifespanManager(app) as manager,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=manager.app),
            base_url="http://resolver.test",
            headers={"user-agent": BROWSER},
        ) as client,
    ):
        yield client


@asynccontextmanager
async def running_from(app: Starlette, *hosts: str) -> AsyncIterator[list[httpx.AsyncClient]]:
    """One browser-like client per address in `hosts`, all to one running `app`."""
    async with LifespanManager(app) as manager, AsyncExitStack() as stack:
        yield [
            await stack.enter_async_context(
                httpx.AsyncClient(
                    transport=httpx.ASGITransport(app=manager.app, client=(host, 50_000)),
                    base_url="http://resolver.test",
                    headers={"user-agent": BROWSER},
                )
            )
            for host in hosts
        ]


@pytest.fixture
async def client(
    settings: Settings, passkit: PassKitDouble, redis: Redis
) -> AsyncIterator[httpx.AsyncClient]:
    async with running(create_app(settings)) as client:
        yield client
