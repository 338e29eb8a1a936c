"""What a worker opens at start-up and closes at shutdown, wired into the services endpoints use.

One Redis pool, one httpx client, one pub/sub subscription and the memory watch per process;
the providers of every campaign; the use case with its policy; the staff check and the miss
budget. `resources` is the app's lifespan body: it validates what it is handed (the staff file,
the start-up rules) before it opens anything, and closes everything it opened.
"""

from __future__ import annotations

import asyncio
import contextlib
from contextlib import asynccontextmanager
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
from redis.asyncio import RedisCluster

from resolver import startup
from resolver.backends import build_router, describe_upstream, policy, upstream_client
from resolver.domain.names import Names
from resolver.draining import on_stop_signals
from resolver.events.deliverer import BLOCK_SECONDS, Deliverer
from resolver.events.delivery import Sender
from resolver.events.retries import Retries
from resolver.observability.upstream import ObservedProvider
from resolver.providers.accounts import Wiring
from resolver.redemption import Redemptions
from resolver.redemption.observer import UNOBSERVED
from resolver.staff import directory as staff_directory
from resolver.staff.counter import CounterAccess
from resolver.staff.verification import StaffCheck
from resolver.storage import redis as store_redis
from resolver.storage.audit import AuditTrail
from resolver.storage.audit_feed import AuditFeed
from resolver.storage.claims import CHANNEL, RedisClaims
from resolver.storage.lockout import Lockout
from resolver.storage.memory import Memory
from resolver.storage.notifier import Notifier
from resolver.storage.ratelimit import MissBudget, parse_limit
from resolver.storage.sharded_notifier import ShardedNotifier
from resolver.storage.token_cache import SharedTokens
from resolver.web.counter_sessions import Counter, Sessions
from resolver.web.services import Services

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable
    from datetime import datetime

    from starlette.templating import Jinja2Templates

    from resolver.draining import Drain
    from resolver.observability.metrics import Metrics
    from resolver.providers import campaigns
    from resolver.settings import Settings
    from resolver.staff.directory import StaffDirectory
    from resolver.storage.topologies import Client
    from resolver.web.i18n import Catalogues


@asynccontextmanager
async def resources(
    settings: Settings,
    *,
    accounts: campaigns.CampaignsFile | None,
    transport: httpx.AsyncBaseTransport | None,
    clock: Callable[[], datetime],
    drain: Drain,
    templates: Jinja2Templates,
    catalogues: Catalogues,
    metrics: Metrics | None = None,
) -> AsyncIterator[Services]:
    """The services of one worker, open for as long as the context is."""
    # Read once, before anything opens: a bad staff file stops start-up with its problems.
    directory = (
        staff_directory.load(Path(settings.staff_file), settings.staff_verification)
        if settings.staff_file
        else None
    )
    # Whatever created the app: never without Redis, never real coupons without a secret key,
    # never the sandbox's demo credentials sent to PassKit's real hosts.
    startup.check(settings, embedded=False)
    assert settings.redis_url is not None
    name = store_redis.client_name()
    redis = store_redis.connect(
        settings.redis_url,
        max_connections=settings.redis_max_connections,
        timeout=settings.redis_timeout,
        name=name,
    )
    http = upstream_client(settings, transport)
    notifier = (
        ShardedNotifier(redis, CHANNEL)
        if isinstance(redis, RedisCluster)
        else Notifier(redis, CHANNEL)
    )
    memory: Memory | None = None
    feed = AuditFeed(redis, block_ms=block_ms(settings.redis_timeout))
    try:
        store = RedisClaims(
            redis,
            notifier,
            audit_trail(settings, redis),
            replica_acks=settings.replica_acks,
            ack_timeout=settings.redis_replica_ack_timeout,
        )
        memory = Memory(redis, store, name, acknowledged=settings.replica_acks > 0)
        # First, before the pool connects: through a connection named as starting, which other
        # processes starting at the same moment do not count (`resolver.storage.memory`).
        starting = store_redis.connect(
            settings.redis_url,
            max_connections=2,
            timeout=settings.redis_timeout,
            name=store_redis.starting_name(name),
        )
        try:
            await memory.start(starting)
        finally:
            await starting.aclose()
        secret = (
            settings.secret_key.get_secret_value().encode()
            if settings.secret_key
            else await store_redis.shared_secret(redis)
        )
        notifier.on_reconnect = memory.reconnected
        if isinstance(notifier, Notifier):
            memory.on_change = notifier.restart
        router = build_router(settings, accounts, Wiring(http, SharedTokens(redis)))
        staff = staff_check(settings, redis, secret, directory, clock)
        if metrics is not None:
            router = router.wrapped(lambda provider: ObservedProvider(provider, metrics))
            store_redis.error_watchers.append(metrics.redis_error)
        services = Services(
            settings=settings,
            redemptions=Redemptions(
                router,
                store,
                Names(secret),
                policy(settings, router),
                clock=clock,
                observer=metrics or UNOBSERVED,
            ),
            store=store,
            misses=MissBudget(redis, parse_limit(settings.rate_limit_misses)),
            staff=staff,
            templates=templates,
            catalogues=catalogues,
            upstream=describe_upstream(settings, accounts),
            clock=clock,
            drain=drain,
            counter=counter_view(settings, staff, feed, secret, clock),
        )
        with on_stop_signals(drain):
            async with delivering(settings, name, clock):
                # Last, so that a subscriber counted in Redis is a worker that has started (what
                # `resolver bench` and the end-to-end tests wait for).
                await notifier.start(wait=settings.redis_timeout)
                yield services
    finally:
        if metrics is not None and metrics.redis_error in store_redis.error_watchers:
            store_redis.error_watchers.remove(metrics.redis_error)
        await feed.close()
        await notifier.stop()
        if memory is not None:
            await memory.stop()
        await http.aclose()
        await redis.aclose()


def audit_trail(settings: Settings, redis: Client) -> AuditTrail | None:
    """The audit trail the settles write to, unless the deployment keeps none."""
    if not settings.audit_retention_days:
        return None
    return AuditTrail(
        redis,
        retention_days=settings.audit_retention_days,
        external_ids=settings.audit_external_ids,
    )


@asynccontextmanager
async def delivering(
    settings: Settings, name: str, clock: Callable[[], datetime]
) -> AsyncIterator[Deliverer | None]:
    """The outbound events' deliverer as a background task of this worker, with its own Redis
    and HTTP clients (none when no endpoint is configured)."""
    if not settings.webhooks:
        yield None
        return
    assert settings.redis_url is not None
    redis = store_redis.connect(
        settings.redis_url,
        max_connections=4,
        timeout=settings.redis_timeout + BLOCK_SECONDS,
        name=name,
    )
    http = httpx.AsyncClient(
        timeout=httpx.Timeout(settings.webhook_timeout, connect=settings.upstream_connect_timeout),
        headers={"user-agent": f"resolver/{version('resolver')}"},
    )
    audit = audit_trail(settings, redis)
    assert audit is not None  # Settings refuses endpoints without a trail
    deliverer = Deliverer(
        redis,
        audit,
        Retries(redis, settings.webhook_retry_schedule),
        Sender(http, clock),
        settings.webhooks,
        consumer=name,
        clock=clock,
    )
    try:
        await deliverer.ensure_group()
        task = asyncio.create_task(deliverer.run(), name="events")
        try:
            yield deliverer
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    finally:
        await http.aclose()
        await redis.aclose()


def staff_check(
    settings: Settings,
    redis: Client,
    secret: bytes,
    directory: StaffDirectory | None,
    clock: Callable[[], datetime],
) -> StaffCheck:
    """The staff check, with wrong codes counted in Redis per coupon link and per client."""
    lockout = Lockout(
        redis,
        secret,
        per_coupon=settings.staff_max_failures,
        per_client=settings.staff_max_failures_per_ip,
        period=settings.staff_lockout_seconds,
    )
    return StaffCheck(
        directory,
        lockout,
        default=settings.staff_verification,
        drift=settings.staff_code_drift,
        clock=clock,
    )


def counter_view(
    settings: Settings,
    staff: StaffCheck,
    feed: AuditFeed,
    secret: bytes,
    clock: Callable[[], datetime],
) -> Counter | None:
    """The staff's counter view, when it is on and the staff file names stores; the code
    check shares the staff check's lockout."""
    if not settings.counter_view or staff.directory is None or not staff.directory.spec.stores:
        return None
    access = CounterAccess(
        staff.directory, staff.lockout, drift=settings.staff_code_drift, clock=clock
    )
    sessions = Sessions(secret, settings.counter_session_seconds, clock)
    return Counter(access, sessions, feed, settings.counter_rows)


def block_ms(redis_timeout: float) -> int:
    """How long one read of the audit stream blocks: well within the socket's timeout, so
    the read returns before the connection would be taken for dead."""
    return max(100, int(redis_timeout * 500))
