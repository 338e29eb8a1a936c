"""`resolver check`: is this deployment ready for real coupons? Run it before a promotion.

    resolver check [--campaign ID ...] [--json]

Reads the configuration as `resolver serve` would, asks Redis what it is (version, role,
eviction policy, memory, persistence), and asks every configured back end account whether its
credentials work; for PassKit also in which region the account and each campaign live, and
what each campaign's offers are set to, in plain words. Only reads are sent upstream. Exit
status 1 when anything is an error, 0 otherwise (warnings included); secrets are never printed.
"""

from __future__ import annotations

import asyncio
import secrets
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from resolver.cli import findings, passkit_check
from resolver.domain.coupons import Link
from resolver.domain.errors import ResolverError, UpstreamAuthError, UpstreamError
from resolver.providers.accounts import PassKitAccount, Wiring
from resolver.providers.regions import PASSKIT_REGIONS
from resolver.startup import settings_or_exit

if TYPE_CHECKING:
    import argparse
    from collections.abc import Awaitable, Callable, Mapping, Sequence

    import httpx

    from resolver.cli.findings import Report, Section
    from resolver.domain.tokens import Token
    from resolver.providers.campaigns import CampaignsFile
    from resolver.redemption.ports import Provider
    from resolver.settings import Settings
    from resolver.storage.inspection import RedisFacts

# Past this share of maxmemory, a burst of claims may hit the limit (and noeviction refuses).
MEMORY_WARNING = 0.8


def add(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    check_cmd = commands.add_parser(
        "check", help="check Redis, credentials, regions, campaigns and offers before a promotion"
    )
    check_cmd.add_argument(
        "--campaign",
        action="append",
        default=[],
        metavar="ID",
        help="a campaign to check too (repeatable); a campaigns file's are always checked",
    )
    check_cmd.add_argument("--json", action="store_true", help="print the findings as JSON")
    check_cmd.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    settings = settings_or_exit()
    report = asyncio.run(run_checks(settings, campaigns=args.campaign))
    print(findings.render_json(report) if args.json else findings.render_text(report))
    return 1 if report.failed else 0


async def run_checks(
    settings: Settings,
    *,
    campaigns: Sequence[str] = (),
    regions: Mapping[str, str] = PASSKIT_REGIONS,
    transport: httpx.AsyncBaseTransport | None = None,
) -> Report:
    """Every check, in the order a person fixes things: configuration, Redis, back ends."""
    from resolver import backends, startup  # noqa: PLC0415  # loaded when it runs

    report = findings.Report()
    config = report.section("configuration")
    try:
        accounts = startup.check_files(settings)
        startup.check(settings, embedded=False)
    except ResolverError as error:
        config.error(str(error))
        return report
    config.ok(f"back end: {backends.describe_upstream(settings, accounts)}")
    await _check_redis(settings, report.section("Redis"))
    now = datetime.now(UTC)
    async with backends.upstream_client(settings, transport) as client:
        if accounts is None:
            target = passkit_check.PassKitTarget(
                account="passkit",
                region=settings.passkit_region,
                base_url=settings.passkit_base_url,
                auth=backends.upstream_auth(settings),
                campaigns=tuple(campaigns),
                region_setting="RESOLVER_PASSKIT_REGION",
            )
            await passkit_check.check_passkit(target, client, report, regions=regions, now=now)
        else:
            await _check_accounts(accounts, campaigns, client, report, regions=regions, now=now)
    return report


async def _check_redis(settings: Settings, section: Section) -> None:
    from resolver.storage import inspection  # noqa: PLC0415
    from resolver.storage import redis as store_redis  # noqa: PLC0415

    assert settings.redis_url is not None  # startup.check refuses a deployment without one
    where = _redis_where(settings.redis_url)
    redis = store_redis.connect(
        settings.redis_url, max_connections=2, timeout=settings.redis_timeout
    )
    try:
        facts = await inspection.inspect(redis)
    except ResolverError as error:
        section.error(f"{where} does not answer: {error}")
        return
    finally:
        await redis.aclose()
    section.ok(f"Redis {facts.version} at {where}")
    judge_redis(facts, section)


def judge_redis(facts: RedisFacts, section: Section) -> None:
    """What the facts mean for claims that must not be lost (deploy/README.md)."""
    if facts.role != "master":
        section.error(f"role {facts.role}: a replica refuses writes; point at the primary")
    policy = facts.eviction
    if policy == "noeviction":
        section.ok("maxmemory-policy noeviction: no claim is ever evicted")
    elif policy.startswith("volatile-"):
        section.warn(
            f"maxmemory-policy {policy}: under memory pressure Redis evicts keys with a TTL, "
            "and every claim has one, so a claim could vanish and let a second redeem through; "
            "set noeviction"
        )
    else:
        section.error(
            f"maxmemory-policy {policy}: Redis may evict any key under memory pressure, claims "
            "included; set noeviction"
        )
    if facts.max_memory and facts.used_memory > MEMORY_WARNING * facts.max_memory:
        share = facts.used_memory / facts.max_memory
        section.warn(f"memory {share:.0%} of maxmemory used: a rush of claims may be refused")
    if facts.aof:
        section.ok("persistence: AOF on")
    elif facts.rdb_schedule:
        section.warn(
            f"persistence: RDB snapshots only (save {facts.rdb_schedule}): claims since the "
            "last snapshot are lost on a restart; turn AOF on (appendonly yes)"
        )
    elif facts.rdb_schedule == "":
        section.warn("persistence: none; a restart forgets every claim: turn AOF on")
    else:
        section.warn("persistence: AOF off, and the RDB schedule is hidden (CONFIG refused)")


async def _check_accounts(
    config: CampaignsFile,
    named: Sequence[str],
    client: httpx.AsyncClient,
    report: Report,
    *,
    regions: Mapping[str, str],
    now: datetime,
) -> None:
    """Every account of the campaigns file, with the campaigns routed to it."""
    routed: dict[str, list[str]] = {name: [] for name in config.accounts}
    for campaign, account_name in config.campaigns.items():
        routed[account_name].append(campaign)
    for campaign in named:
        serving = config.campaigns.get(campaign, config.default)
        if serving is None:
            report.section(f"campaign {campaign}").error(
                "not served here: not in the campaigns file, which has no default"
            )
        elif campaign not in routed[serving]:
            routed[serving].append(campaign)
    wiring = Wiring(client, _OwnTokens())
    for name, account in config.accounts.items():
        if isinstance(account, PassKitAccount):
            target = passkit_check.PassKitTarget(
                account=name,
                region=account.region,
                base_url=account.base_url,
                auth=account.auth(),
                campaigns=tuple(routed[name]),
                region_setting=f"region in [accounts.{name}]",
            )
            await passkit_check.check_passkit(target, client, report, regions=regions, now=now)
        else:
            provider = account.build(config.provider_name(name), wiring)
            await check_other(provider, routed[name], report.section(f"account {provider.name}"))


async def check_other(provider: Provider, campaigns: Sequence[str], section: Section) -> None:
    """A back end other than PassKit: its credentials, by reading a coupon that does not exist."""
    if not provider.capabilities.read_back:
        section.info("not checkable: this back end has no read call, only its redeem")
        return
    campaign = campaigns[0] if campaigns else "resolver-check"
    try:
        coupon = await provider.lookup(Link(campaign, f"resolver-check-{secrets.token_hex(4)}"))
    except UpstreamAuthError as error:
        section.error(f"credentials refused ({error})")
        return
    except UpstreamError as error:
        section.error(f"reading a coupon did not work: {error}")
        return
    section.ok(
        "credentials accepted (a made-up coupon read back as "
        f"{'missing' if coupon is None else 'present'})"
    )
    section.info("campaigns and offers: not checkable on this back end")


class _OwnTokens:
    """A token store for this one command: a back end's access token, fetched when needed.

    The service shares tokens through Redis; a check must work when Redis does not."""

    async def token(self, name: str, fetch: Callable[[], Awaitable[Token]]) -> str:
        return (await fetch()).value

    async def forget(self, name: str, value: str) -> None:
        return None


def _redis_where(url: str) -> str:
    """The Redis URL without its credentials."""
    parts = urlsplit(url)
    if parts.scheme == "unix":
        return f"unix://{parts.path}"
    return f"{parts.scheme}://{parts.hostname}:{parts.port or 6379}{parts.path}"
