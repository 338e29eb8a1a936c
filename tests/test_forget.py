"""`resolver forget`: after RESOLVER_SECRET_KEY changes, coupons redeemed under the old key are
not redeemed again, against a back end that would accept a second redeem."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

import pytest

from resolver.app import create_app
from resolver.cli import main
from resolver.cli.forget import mark
from resolver.domain.coupons import Link
from resolver.domain.redemptions import Outcome
from resolver.storage.claims import MEMORY
from tests.conftest import serving

if TYPE_CHECKING:
    from collections.abc import Callable

    from redis.asyncio import Redis

    from resolver.settings import Settings
    from tests.support.passkit import PassKitDouble

LINK = Link("camp-1", "member-1")
OLD_KEY, NEW_KEY = "the-old-secret-key", "the-new-secret-key"


def accepting(passkit: PassKitDouble) -> PassKitDouble:
    """A back end without a single-use rule: only the resolver stands between two redeems."""
    passkit.add(LINK.external_id)
    passkit.accept_repeats = True
    return passkit


async def redeem_under(settings: Settings) -> Outcome:
    async with serving(create_app(settings)) as services:
        return (await services.redemptions.redeem(LINK)).outcome


async def test_a_new_secret_key_alone_forgets_every_coupon_redeemed_under_the_old_one(
    make_settings: Callable[..., Settings], passkit: PassKitDouble, redis: Redis
) -> None:
    """Why the command exists: the new key names the coupon anew, and nothing remembers it."""
    accepting(passkit)
    assert await redeem_under(make_settings(secret_key=OLD_KEY)) is Outcome.REDEEMED
    assert await redeem_under(make_settings(secret_key=NEW_KEY)) is Outcome.REDEEMED
    assert passkit.redeem_calls == 2


async def test_after_forget_a_coupon_redeemed_under_the_old_key_is_not_redeemed_again(
    make_settings: Callable[..., Settings], passkit: PassKitDouble, redis: Redis
) -> None:
    """Marked as forgotten, the next tap waits out the longest lease instead of redeeming."""
    accepting(passkit)
    assert await redeem_under(make_settings(secret_key=OLD_KEY)) is Outcome.REDEEMED
    rotated = make_settings(secret_key=NEW_KEY)
    await mark(rotated)
    assert await redeem_under(rotated) is Outcome.IN_PROGRESS
    assert passkit.redeem_calls == 1


async def test_the_command_marks_the_services_redis_and_says_what_follows(
    redis_url: str,
    redis: Redis,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`resolver forget` reads RESOLVER_REDIS_URL like the service and marks the loss now."""
    monkeypatch.setenv("RESOLVER_REDIS_URL", redis_url)
    monkeypatch.chdir("/")  # no .env of the caller's
    assert await redis.get(MEMORY) == "0"
    before = time.time() * 1000
    with pytest.raises(SystemExit) as done:
        await asyncio.to_thread(main, ["forget"])  # the command runs its own event loop
    assert done.value.code == 0
    assert "read each coupon back" in capsys.readouterr().out
    marker = await redis.get(MEMORY)
    assert marker is not None
    assert int(marker) >= before - 1000  # Redis's clock, on this machine
