"""A deliverer over the test Redis, sending to the sandbox's receiver in process."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

import httpx
import pytest
from resolver_sandbox.receiver import DEMO_WEBHOOK_SECRET, Receiver
from starlette.applications import Starlette

from resolver.events.deliverer import Deliverer
from resolver.events.delivery import Sender
from resolver.events.endpoints import Endpoint
from resolver.events.retries import Retries
from resolver.storage.audit import AuditTrail
from tests.conftest import Clock

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable

    from redis.asyncio import Redis

SCHEDULE = (5.0, 300.0)  # two retries: three tries in all


def endpoint(name: str = "crm", events: tuple[str, ...] = ("*",)) -> Endpoint:
    return Endpoint(
        name=name,
        url=f"http://receiver.test/hooks/{name}",
        secret=DEMO_WEBHOOK_SECRET,
        events=events,
    )


@pytest.fixture
def receiver() -> Receiver:
    return Receiver()


@pytest.fixture
async def http(receiver: Receiver) -> AsyncIterator[httpx.AsyncClient]:
    app = Starlette(routes=receiver.routes())
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as client:
        yield client


@pytest.fixture
def clock() -> Clock:
    """When retries are due: moved on by tests instead of waiting."""
    return Clock()


@pytest.fixture
def make_deliverer(redis: Redis, http: httpx.AsyncClient, clock: Clock) -> Callable[..., Deliverer]:
    def make(*endpoints: Endpoint, consumer: str = "worker-1") -> Deliverer:
        audit = AuditTrail(redis, retention_days=30)
        return Deliverer(
            redis,
            audit,
            Retries(redis, SCHEDULE),
            Sender(http, lambda: datetime.now(UTC)),  # signed now: the verifier checks it
            endpoints or (endpoint(),),
            consumer=consumer,
            clock=clock,
            block=0.01,
        )

    return make
