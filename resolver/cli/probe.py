"""`resolver probe`: ask PassKit itself what the defensive code can only guess at.

    resolver probe --campaign TEST_CAMPAIGN [--offer OFFER] [--yes] [--json]

On a campaign set aside for testing, it creates a coupon, redeems it, redeems it again, reads it
back, creates an already expired coupon and redeems it, voids what it created and reads it
again, printing what PassKit answered to each call (status, code, message, the coupon's
status and dates). Those answers are undocumented (docs/backends.md), and they decide how the
service reads refusals. It only ever names coupons it created (by the ids PassKit gave them),
and voids them whatever happens, failures and Ctrl-C included.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import TYPE_CHECKING

from resolver.cli.console import say
from resolver.cli.probing import PREFIX, Probe
from resolver.domain.errors import ResolverError
from resolver.providers.accounts import PassKitAccount
from resolver.providers.passkit_admin import PassKitAdmin
from resolver.providers.regions import PASSKIT_REGIONS
from resolver.startup import settings_or_exit

if TYPE_CHECKING:
    import argparse

    import httpx

    from resolver.settings import Settings


def add(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    probe_cmd = commands.add_parser(
        "probe",
        help="on a PassKit test campaign: create, redeem twice, expire and void probe coupons, "
        "printing what PassKit answers",
    )
    probe_cmd.add_argument("--campaign", required=True, help="a campaign set aside for testing")
    probe_cmd.add_argument("--offer", help="the offer for the probe coupons (default: the first)")
    probe_cmd.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    probe_cmd.add_argument("--json", action="store_true", help="print the answers as JSON")
    probe_cmd.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    settings = settings_or_exit()
    try:
        base_url, auth = passkit_for(settings, args.campaign)
    except ResolverError as error:
        say(f"resolver probe: {error}")
        return 2
    warn(args.campaign, base_url)
    if not args.yes and not confirmed(args.campaign):
        return 2
    started: list[Probe] = []
    try:
        asyncio.run(_probe(settings, base_url, auth, args, started))
    except KeyboardInterrupt:
        # The probe's `finally` has voided what it created before the interrupt got here.
        say("resolver probe: interrupted")
        if not started:
            return 130
    probe = started[0]
    print(render_json(probe) if args.json else render_text(probe, base_url))
    if not probe.cleaned_up:
        left = ", ".join(external for _, external in probe.created)
        say(f"resolver probe: not every probe coupon was voided; void these by hand: {left}")
        return 1
    return 0


async def _probe(
    settings: Settings,
    base_url: str,
    auth: httpx.Auth,
    args: argparse.Namespace,
    started: list[Probe],
) -> None:
    """Run the probe; it is put in `started` first, so an interrupted one can be reported."""
    from resolver.backends import upstream_client  # noqa: PLC0415  # loaded when it runs

    async with upstream_client(settings) as client:
        admin = PassKitAdmin(client, base_url=base_url, auth=auth)
        started.append(Probe(admin, args.campaign, args.offer))
        await started[0].run()


def passkit_for(settings: Settings, campaign: str) -> tuple[str, httpx.Auth]:
    """The PassKit base URL and credentials that serve `campaign`."""
    from resolver import backends, startup  # noqa: PLC0415  # loaded when it runs

    accounts = startup.check_files(settings)
    if accounts is None:
        startup.check(settings, embedded=False)
        return settings.passkit_url, backends.upstream_auth(settings)
    name = accounts.campaigns.get(campaign, accounts.default)
    account = accounts.accounts.get(name) if name else None
    if not isinstance(account, PassKitAccount):
        raise ResolverError(f"campaign {campaign} is not served by a PassKit account here")
    return account.base_url or PASSKIT_REGIONS[account.region], account.auth()


def warn(campaign: str, base_url: str) -> None:
    """What the probe is about to do, said before anything is sent."""
    say(
        f"resolver probe sends real calls to PassKit at {base_url}, on campaign {campaign}:\n"
        f"  - it creates two coupons ({PREFIX}-… external ids), redeems them, reads them back "
        "and voids them;\n"
        "  - they are real coupons of that campaign: they count in its reports and quota, and "
        "any integration watching the campaign sees them;\n"
        "  - it names no other coupon, ever.\n"
        "Use a campaign set aside for testing, never one whose coupons members hold."
    )


def confirmed(campaign: str) -> bool:
    """Whether the operator typed the campaign id (a terminal is needed to ask)."""
    if not sys.stdin.isatty():
        say("resolver probe: not a terminal: pass --yes to go on without the question")
        return False
    try:
        typed = input("Type the campaign id to go on: ")
    except EOFError:
        return False
    if typed.strip() != campaign:
        say("resolver probe: not confirmed; nothing was sent")
        return False
    return True


def render_text(probe: Probe, base_url: str) -> str:
    lines = [f"PassKit at {base_url}, campaign {probe.campaign_id}, offer {probe.offer_id}:"]
    for number, step in enumerate(probe.steps, start=1):
        answer = step.answer
        call = f"{answer.method} {answer.path}  -> {answer.status}" if answer else "no answer"
        lines.append(f"{number:>2}. {step.title}: {call}")
        lines.extend(f"      {name}: {value}" for name, value in step.fields().items())
    lines.append(
        "every probe coupon was voided" if probe.cleaned_up else "NOT every probe coupon voided"
    )
    return "\n".join(lines)


def render_json(probe: Probe) -> str:
    return json.dumps(
        {
            "campaignId": probe.campaign_id,
            "offerId": probe.offer_id,
            "steps": [step.to_json() for step in probe.steps],
            "created": [external_id for _, external_id in probe.created],
            "cleanedUp": probe.cleaned_up,
        },
        indent=2,
        ensure_ascii=False,
    )
