"""Fixtures for the sandbox tests: a demo-seeded state, its app and a client calling it."""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx
import pytest
from resolver_sandbox import SandboxState, create_sandbox_app

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from starlette.applications import Starlette

LEGACY_TOKEN = "legacy-token"


@pytest.fixture
def state() -> SandboxState:
    """A state holding the demo seed."""
    seeded = SandboxState(seed=7)
    seeded.seed_demo()
    return seeded


@pytest.fixture
def app(state: SandboxState) -> Starlette:
    """The sandbox app over `state`, accepting "legacy-token" as a bearer token."""
    return create_sandbox_app(state, token=LEGACY_TOKEN)


@pytest.fixture
async def client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    """A client calling the app in process."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://passkit.sandbox") as client:
        yield client
