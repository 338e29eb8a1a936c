"""`resolver audit export`: the audit trail (`rr:audit`) of a time range, as CSV or JSON lines.

    resolver audit export --since 2026-05-01 [--until 2026-05-02T12:00] [--format csv|jsonl]

Times are ISO 8601, UTC unless they say otherwise; an entry belongs to the range by the time
Redis added it (its stream id), which is its settle time within a few milliseconds.
"""

from __future__ import annotations

import asyncio
import csv
import json
import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING, TextIO

from resolver.domain.errors import StoreUnavailable
from resolver.startup import refuse, settings_or_exit
from resolver.storage import redis as store_redis
from resolver.storage.audit import FIELDS, AuditTrail

if TYPE_CHECKING:
    import argparse

    from resolver.settings import Settings
    from resolver.storage.audit import Entry

COLUMNS = ("id", "time", *FIELDS)


def add(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    audit_cmd = commands.add_parser("audit", help="read the audit trail of redemptions")
    actions = audit_cmd.add_subparsers(title="audit commands")
    export = actions.add_parser("export", help="print the entries of a time range")
    export.add_argument("--since", required=True, type=moment, help="ISO time, e.g. 2026-05-01")
    export.add_argument("--until", type=moment, help="ISO time, exclusive (default: now)")
    export.add_argument("--format", choices=["csv", "jsonl"], default="csv")
    export.set_defaults(run=_run)
    audit_cmd.set_defaults(run=lambda _: usage(audit_cmd))


def usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def moment(text: str) -> datetime:
    """An ISO 8601 date or time; UTC when it names no offset."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"not an ISO 8601 time: {text}") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def row(entry: Entry) -> dict[str, str]:
    """The entry with its id and a readable time first."""
    time = datetime.fromtimestamp(entry.at_ms / 1000, UTC).isoformat(timespec="milliseconds")
    return {"id": entry.id, "time": time.replace("+00:00", "Z"), **entry.fields}


async def export(
    settings: Settings, since: datetime, until: datetime | None, kind: str, out: TextIO
) -> int:
    """Write the range's entries to `out`; how many."""
    assert settings.redis_url is not None
    redis = store_redis.connect(
        settings.redis_url, max_connections=1, timeout=settings.redis_timeout
    )
    trail = AuditTrail(redis, retention_days=settings.audit_retention_days)
    writer = csv.DictWriter(out, COLUMNS, extrasaction="ignore") if kind == "csv" else None
    if writer is not None:
        writer.writeheader()
    count = 0
    try:
        async for entry in trail.entries(since, until or "+"):
            if writer is not None:
                writer.writerow(row(entry))
            else:
                out.write(json.dumps(row(entry), separators=(",", ":")) + "\n")
            count += 1
    finally:
        await redis.aclose()
    return count


def _run(args: argparse.Namespace) -> int:
    settings = settings_or_exit()
    if settings.redis_url is None:
        refuse("resolver audit export reads Redis: set RESOLVER_REDIS_URL")
    try:
        count = asyncio.run(export(settings, args.since, args.until, args.format, sys.stdout))
    except StoreUnavailable as error:
        refuse(str(error))
    print(f"{count} entries", file=sys.stderr)
    return 0
