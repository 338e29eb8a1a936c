"""`resolver events …`: the outbound events' dead letters, and sending events again.

    resolver events dead                         the dead letters, one JSON line each
    resolver events replay --dead [--endpoint crm]
    resolver events replay --since 2026-05-01T09:00 [--until …] [--endpoint crm]

A replay only queues: the running service's deliverers send what it queued, signed afresh
with the same `webhook-id` as before, on a new retry schedule.
"""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from resolver.cli.audit import moment, usage
from resolver.domain.errors import StoreUnavailable
from resolver.events.catalogue import event_type
from resolver.events.retries import Pending, Retries
from resolver.startup import refuse, settings_or_exit
from resolver.storage import redis as store_redis
from resolver.storage.audit import AuditTrail

if TYPE_CHECKING:
    import argparse
    from collections.abc import Awaitable, Callable

    from resolver.settings import Settings
    from resolver.storage.topologies import Client

    Command = Callable[[Settings, Client, argparse.Namespace], Awaitable[int]]


def add(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    events_cmd = commands.add_parser("events", help="outbound events: dead letters, replays")
    actions = events_cmd.add_subparsers(title="events commands")
    dead = actions.add_parser("dead", help="print the dead letters")
    dead.set_defaults(run=lambda args: _run(args, _dead))
    replay = actions.add_parser("replay", help="send events again (the service delivers them)")
    which = replay.add_mutually_exclusive_group(required=True)
    which.add_argument("--dead", action="store_true", help="every dead letter")
    which.add_argument("--since", type=moment, help="every event settled since (ISO time)")
    replay.add_argument("--until", type=moment, help="with --since: until (exclusive)")
    replay.add_argument("--endpoint", help="only to this endpoint (its name)")
    replay.set_defaults(run=lambda args: _run(args, _replay))
    events_cmd.set_defaults(run=lambda _: usage(events_cmd))


async def replay(
    settings: Settings,
    redis: Client,
    *,
    dead: bool,
    since: datetime | None = None,
    until: datetime | None = None,
    endpoint: str | None = None,
) -> int:
    """Queue the chosen events for delivery now; how many deliveries were queued."""
    retries = Retries(redis, settings.webhook_retry_schedule)
    now = int(datetime.now(UTC).timestamp() * 1000)
    count = 0
    if dead:
        for letter in await retries.dead_letters():
            if endpoint is None or letter.endpoint == endpoint:
                await retries.revive(letter, now)
                count += 1
        return count
    assert since is not None
    trail = AuditTrail(redis, retention_days=settings.audit_retention_days)
    targets = [target for target in settings.webhooks if endpoint in (None, target.name)]
    async for entry in trail.entries(since, until or "+"):
        kind = event_type(entry.fields)
        pairs = [Pending(t.name, entry.id) for t in targets if kind and t.wants(kind)]
        await retries.add(pairs, now)
        count += len(pairs)
    return count


async def _dead(settings: Settings, redis: Client, args: argparse.Namespace) -> int:
    for letter in await Retries(redis, settings.webhook_retry_schedule).dead_letters():
        print(letter.text())
    return 0


async def _replay(settings: Settings, redis: Client, args: argparse.Namespace) -> int:
    if not settings.webhooks:
        refuse("no endpoint to send to: RESOLVER_WEBHOOKS is not set")
    if args.endpoint and args.endpoint not in {target.name for target in settings.webhooks}:
        refuse(f"no endpoint named {args.endpoint} in RESOLVER_WEBHOOKS")
    count = await replay(
        settings, redis, dead=args.dead, since=args.since, until=args.until, endpoint=args.endpoint
    )
    print(f"{count} deliveries queued; the running service sends them", file=sys.stderr)
    return 0


def _run(args: argparse.Namespace, command: Command) -> int:
    settings = settings_or_exit()
    if settings.redis_url is None:
        refuse("resolver events reads Redis: set RESOLVER_REDIS_URL")

    async def main() -> int:
        assert settings.redis_url is not None
        redis = store_redis.connect(
            settings.redis_url, max_connections=1, timeout=settings.redis_timeout
        )
        try:
            return await command(settings, redis, args)
        finally:
            await redis.aclose()

    try:
        return asyncio.run(main())
    except StoreUnavailable as error:
        refuse(str(error))
