"""`resolver forget`: tell every replica that Redis may have forgotten what it held.

The service notices by itself when its Redis loses data (a flush, a restart, a failover:
`resolver.storage.memory`). Some losses it cannot see: a new `RESOLVER_SECRET_KEY` renames every
coupon's keys, so the claims, doubts and results kept under the old names are as good as gone,
and so is a Redis restored from an older backup under the same server. This marks the loss as
the service would: for the longest claim lease no claim may redeem (a redemption begun before
may still be applied), and for the duplicate window after it every claim reads the coupon back
from the upstream before redeeming.
"""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from resolver.startup import settings_or_exit

if TYPE_CHECKING:
    import argparse

    from resolver.settings import Settings


def add(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    forget_cmd = commands.add_parser(
        "forget",
        help="mark Redis as having forgotten (after rotating RESOLVER_SECRET_KEY): claims "
        "wait out the longest lease, then read coupons back before redeeming",
    )
    forget_cmd.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from resolver.domain.errors import StoreUnavailable  # noqa: PLC0415

    settings = settings_or_exit()
    if settings.redis_url is None:
        print("resolver: forget needs RESOLVER_REDIS_URL (the service's Redis)", file=sys.stderr)
        return 2
    try:
        since = asyncio.run(mark(settings))
    except StoreUnavailable as error:
        print(f"resolver: Redis did not answer: {error}", file=sys.stderr)
        return 1
    print(
        f"Redis is marked as remembering only from {since:%Y-%m-%d %H:%M:%S} UTC: claims wait "
        f"until the longest lease has passed, then read each coupon back before redeeming "
        f"for {settings.duplicate_window} s."
    )
    return 0


async def mark(settings: Settings) -> datetime:
    """Mark the loss in the service's Redis; the moment it is marked from."""
    from resolver.storage import redis as store_redis  # noqa: PLC0415  # only forget needs it
    from resolver.storage.claims import RedisClaims  # noqa: PLC0415

    assert settings.redis_url is not None
    redis = store_redis.connect(
        settings.redis_url, max_connections=1, timeout=settings.redis_timeout
    )
    try:
        await RedisClaims(redis).forgot()
    finally:
        await redis.aclose()
    return datetime.now(UTC)
