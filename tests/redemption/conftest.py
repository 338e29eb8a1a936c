"""The use case of an app running against the PassKit double and a real Redis."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from resolver.app import create_app
from tests.conftest import serving

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from redis.asyncio import Redis

    from resolver.redemption import Redemptions
    from resolver.settings import Settings
    from resolver.web.services import Services
    from tests.support.passkit import PassKitDouble


@pytest.fixture
async def services(
    settings: Settings, passkit: PassKitDouble, redis: Redis
) -> AsyncIterator[Services]:
    async with serving(create_app(settings)) as services:
        yield services


@pytest.fixture
def redemptions(services: Services) -> Redemptions:
    return services.redemptions
