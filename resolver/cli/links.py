"""`resolver link`: the pass link for a pass design, one member's link, or a signed CSV."""

from __future__ import annotations

import contextlib
import sys
from typing import TYPE_CHECKING

from resolver.cli.console import display_host, say
from resolver.startup import settings_or_exit

if TYPE_CHECKING:
    import argparse


def add(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    link_cmd = commands.add_parser(
        "link", help="print the pass link (template), one member's link, or sign a members CSV"
    )
    link_cmd.add_argument("--campaign", required=True, help="the coupon campaign id")
    link_cmd.add_argument("--external", help="one member's pass id (externalId)")
    link_cmd.add_argument("--base-url", help="public URL of this service (default: host:port)")
    link_cmd.add_argument("--csv", help="a members CSV exported from PassKit ('-' for stdin)")
    link_cmd.add_argument("--id-column", help="the CSV column holding the pass id")
    link_cmd.add_argument("--output", help="where to write the signed CSV (default: stdout)")
    link_cmd.add_argument(
        "--sig-field",
        default="${meta.resolverSig}",
        help="the pass field holding each member's signature, for the template",
    )
    link_cmd.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from resolver.cli import passlinks  # noqa: PLC0415
    from resolver.domain.coupons import Link  # noqa: PLC0415
    from resolver.domain.errors import InvalidLink  # noqa: PLC0415
    from resolver.domain.ids import valid_id  # noqa: PLC0415

    settings = settings_or_exit()
    keys = settings.link_keys
    base_url = args.base_url or f"http://{display_host(settings.host)}:{settings.port}"
    if not keys:
        say("note: RESOLVER_LINK_KEYS is not set, so links are not signed")
    try:
        campaign = valid_id("campaignId", args.campaign)
        if args.csv:
            with contextlib.ExitStack() as files:
                source = (
                    sys.stdin
                    if args.csv == "-"
                    else files.enter_context(open(args.csv, newline="", encoding="utf-8-sig"))
                )
                target = (
                    files.enter_context(open(args.output, "w", newline="", encoding="utf-8"))
                    if args.output
                    else sys.stdout
                )
                rows = passlinks.sign_csv(
                    source, target, base_url=base_url, campaign_id=campaign, keys=keys,
                    id_column=args.id_column,
                )  # fmt: skip
            say(f"signed {rows} members; import the resolverSig column as a pass field")
        elif args.external:
            member = Link(campaign, valid_id("externalId", args.external))
            print(passlinks.link(base_url, member, keys))
        else:
            print(passlinks.template(base_url, campaign, keys, args.sig_field))
    except InvalidLink as error:
        say(f"resolver: {error.detail}")
        return 2
    except (ValueError, OSError) as error:
        say(f"resolver: {error}")
        return 2
    return 0
