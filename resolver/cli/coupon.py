"""`resolver coupon show|settle|forget`: what the service holds for one coupon link, and the two
things an operator may do about it.

- `show`: what Redis holds (state, stored result, lease left, how long it is kept, receipts)
  and what the back end says of the coupon now;
- `settle`: read the coupon back and settle a doubt the way the next tap would (the use case's
  own rule, `resolver.redemption.doubts`), or say why it cannot;
- `forget`: drop the stored outcome or doubt after a manual fix (asks first, or `--yes`); never
  a claim whose attempt may still be calling the back end.

The ids the operator typed are printed back to the terminal; the logs only ever name the link
by its keyed hash, as the service's own lines do. Nothing prints a credential.
"""

from __future__ import annotations

import asyncio
import sys
from typing import TYPE_CHECKING

import structlog

from resolver.startup import settings_or_exit

if TYPE_CHECKING:
    import argparse
    from collections.abc import Awaitable, Callable

    from resolver.cli.operating import Operator
    from resolver.domain.coupons import Link
    from resolver.redemption.ports import Held

log = structlog.get_logger("resolver.cli")


def add(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    coupon_cmd = commands.add_parser(
        "coupon", help="show, settle or forget what the service holds for one coupon link"
    )
    actions = coupon_cmd.add_subparsers(title="actions", required=True)
    for name, run, summary in (
        ("show", show, "what Redis holds for the link, and what the back end says now"),
        ("settle", settle, "read the coupon back and settle a doubt, or say why it cannot"),
        ("forget", forget, "drop the stored outcome or doubt after a manual fix"),
    ):
        action = actions.add_parser(name, help=summary, description=summary)
        action.add_argument("--campaign", required=True, help="the coupon campaign id")
        action.add_argument("--external", required=True, help="the member's pass id (externalId)")
        if name == "forget":
            action.add_argument("--yes", action="store_true", help="do not ask for confirmation")
        action.set_defaults(run=run)


def show(args: argparse.Namespace) -> int:
    return _run(args, _show)


def settle(args: argparse.Namespace) -> int:
    return _run(args, _settle)


def forget(args: argparse.Namespace) -> int:
    return _run(args, _forget)


def _run(
    args: argparse.Namespace, action: Callable[[Operator, Link, argparse.Namespace], Awaitable[int]]
) -> int:
    from resolver import logs  # noqa: PLC0415
    from resolver.cli import operating  # noqa: PLC0415
    from resolver.domain.coupons import Link  # noqa: PLC0415
    from resolver.domain.errors import InvalidLink, StoreUnavailable  # noqa: PLC0415
    from resolver.domain.ids import valid_id  # noqa: PLC0415

    settings = settings_or_exit()
    if settings.redis_url is None:
        print("resolver: RESOLVER_REDIS_URL is not set (the service's Redis)", file=sys.stderr)
        return 2
    logs.configure(settings.log_level, settings.log_format)
    try:
        link = Link(valid_id("campaignId", args.campaign), valid_id("externalId", args.external))
    except InvalidLink as problem:
        print(f"resolver: {problem.detail}", file=sys.stderr)
        return 2

    async def main() -> int:
        async with operating.operator(settings) as operator:
            return await action(operator, link, args)

    try:
        return asyncio.run(main())
    except StoreUnavailable as problem:
        print(f"resolver: Redis cannot be reached ({problem}); nothing was done", file=sys.stderr)
        return 1


async def _show(operator: Operator, link: Link, args: argparse.Namespace) -> int:
    key = _named(operator, link)
    held = await operator.held(key)
    kept = await operator.records.kept_for(key)
    receipts = await operator.records.receipts(key)
    print(f"coupon link   campaignId={link.campaign_id} externalId={link.external_id}")
    print(f"back end      {operator.backend(link)}")
    print(f"redis key     rr:{{{key}}}")
    print(f"state         {describe_held(held)}")
    if held.result is not None:
        print(f"stored result {describe_result(held)}")
    if kept is not None:
        print(f"kept for      {kept:.0f} s more")
    print(f"receipts      {receipts} kept")
    print(f"back end now  {await operator.upstream_says(link)}")
    log.info("coupon_shown", coupon=key, state=held.state, doubt=held.doubt)
    return 0


async def _settle(operator: Operator, link: Link, args: argparse.Namespace) -> int:
    key = _named(operator, link)
    held = await operator.held(key)
    settled, message = await operator.settle(link, key, held)
    print(message)
    log.info("coupon_settle", coupon=key, state=held.state, settled=settled)
    return 0 if settled else 1


async def _forget(operator: Operator, link: Link, args: argparse.Namespace) -> int:
    key = _named(operator, link)
    held = await operator.held(key)
    if held.state == "none":
        print("Redis holds nothing for this link: nothing to forget.")
        return 0
    print(f"Redis holds: {describe_held(held)}")
    if not args.yes:
        try:
            answer = await asyncio.to_thread(input, "Forget it? The next tap asks afresh. [y/N] ")
        except EOFError:  # nobody to ask
            answer = ""
        if answer.strip().lower() not in ("y", "yes"):
            print("Nothing was changed.")
            return 1
    done = await operator.records.forget(key)
    log.info("coupon_forget", coupon=key, state=held.state, done=done)
    if done == "in_flight":
        print("An attempt holds a live claim on it now: nothing was changed. Try again later.")
        return 1
    print("Forgotten." if done == "forgotten" else "Redis held nothing any more.")
    return 0


def _named(operator: Operator, link: Link) -> str:
    """The link's keyed name, bound to every log line of the command (as a request's is)."""
    key = operator.key(link)
    structlog.contextvars.bind_contextvars(coupon=key)
    return key


def describe_held(held: Held) -> str:
    if held.state == "none":
        return "none (nothing stored: the next tap asks the back end)"
    since = held.since.isoformat(timespec="seconds") if held.since else "?"
    if held.state == "claimed" and not held.doubt:
        return f"claimed, attempt in flight since {since}, lease {held.lease_left:.1f} s left"
    if held.doubt:
        why = "unknown" if held.state == "unknown" else "claimed, but its lease ran out"
        return f"{why} since {since}: may have been applied; the next tap reads back first"
    return f"done (attempt since {since})"


def describe_result(held: Held) -> str:
    result = held.result
    assert result is not None
    parts = [result.outcome.value]
    if result.coupon_id:
        parts.append(f"coupon {result.coupon_id}")
    if result.redeemed_at:
        parts.append(f"redeemed at {result.redeemed_at.isoformat(timespec='seconds')}")
    if result.detail:
        parts.append(result.detail)
    return "; ".join(parts)
