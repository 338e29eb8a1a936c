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
import secrets
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from importlib.metadata import version
from typing import TYPE_CHECKING, Any

from resolver.cli.console import say
from resolver.domain.errors import ResolverError, UpstreamError
from resolver.providers import reading
from resolver.providers.accounts import PassKitAccount
from resolver.providers.passkit_admin import PassKitAdmin
from resolver.providers.regions import PASSKIT_REGIONS
from resolver.startup import settings_or_exit

if TYPE_CHECKING:
    import argparse
    from collections.abc import Awaitable, Callable

    import httpx

    from resolver.providers.passkit_admin import Answer
    from resolver.settings import Settings

PREFIX = "resolver-probe"


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


@dataclass(frozen=True, slots=True)
class Step:
    """One call of the probe and what PassKit answered (or why nothing came back)."""

    title: str
    answer: Answer | None
    failure: str = ""

    def fields(self) -> dict[str, str]:
        """The answer's fields worth reading: error code and message, or the coupon's state."""
        if self.answer is None:
            return {"failure": self.failure}
        body, found = self.answer.body, {}
        if not self.answer.ok:
            found["code"] = str(body.get("code", ""))
            found["message"] = self.answer.message
        elif self.answer.items:
            ids = [reading.as_text(item.get("id")) for item in self.answer.items]
            found["offers"] = ", ".join(ids)
        else:
            redemption = reading.as_object(body.get("redemptionDetails"))
            found |= {
                "id": reading.as_text(body.get("id")),
                "status": reading.as_text(body.get("status")),
                "expiryDate": _text(body.get("expiryDate")),
                "redemptionDate": _text(redemption.get("redemptionDate")),
                "passMetaData.status": reading.as_text(
                    reading.as_object(body.get("passMetaData")).get("status")
                ),
            }
        return {name: value for name, value in found.items() if value}

    def to_json(self) -> dict[str, Any]:
        answer = self.answer
        return {
            "title": self.title,
            "method": answer.method if answer else None,
            "path": answer.path if answer else None,
            "status": answer.status if answer else None,
            "fields": self.fields(),
        }


@dataclass(slots=True)
class Probe:
    """The probe's calls on one campaign; `steps` and `created` survive a failure midway."""

    admin: PassKitAdmin
    campaign_id: str
    offer_id: str | None = None
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    steps: list[Step] = field(default_factory=list)
    # (coupon id, external id) of every coupon the probe created: the only ones it touches.
    created: list[tuple[str, str]] = field(default_factory=list)
    tag: str = field(default_factory=lambda: secrets.token_hex(4))

    async def run(self) -> None:
        """Every step; the created coupons are voided even when a step fails."""
        try:
            await self._steps()
        finally:
            await self._void_all()

    async def _steps(self) -> None:
        campaign = await self._step("read the campaign", self.admin.campaign(self.campaign_id))
        if campaign is None or not campaign.ok:
            return
        if self.offer_id is None:
            offers = await self._step("list its offers", self.admin.offers(self.campaign_id))
            ids = [reading.as_text(o.get("id")) for o in offers.items] if offers else []
            self.offer_id = next((offer_id for offer_id in ids if offer_id), None)
            if self.offer_id is None:
                return
        fresh = await self._create("a", "create a coupon", expires=None)
        if fresh is not None:
            coupon_id, external_id = fresh
            await self._redeem(coupon_id, "redeem it")
            await self._redeem(coupon_id, "redeem it again")
            await self._read(external_id, "read it back by external id")
        yesterday = self.clock() - timedelta(days=1)
        expired = await self._create("b", "create a coupon that expired yesterday", yesterday)
        if expired is not None:
            await self._redeem(expired[0], "redeem the expired coupon")
            await self._read(expired[1], "read the expired coupon back")

    async def _create(
        self, suffix: str, title: str, expires: datetime | None
    ) -> tuple[str, str] | None:
        """Create a probe coupon; its (id, external id) once PassKit has it, else None."""
        external_id = f"{PREFIX}-{self.clock():%Y%m%d%H%M%S}-{self.tag}-{suffix}"
        body: dict[str, Any] = {
            "campaignId": self.campaign_id,
            "offerId": self.offer_id,
            "externalId": external_id,
            "metaData": {"createdBy": PREFIX},
        }
        if expires is not None:
            body["expiryDate"] = expires.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        answer = await self._step(title, self.admin.create_coupon(body))
        coupon_id = reading.as_text(answer.body.get("id")) if answer and answer.ok else ""
        if not coupon_id and (answer is None or answer.status >= 500):
            # The create may have been applied without its answer reaching us: the external id
            # is the probe's own, so reading it back finds the coupon to void, if there is one.
            found = await self._read(external_id, "look for it by external id")
            coupon_id = reading.as_text(found.body.get("id")) if found and found.ok else ""
        if not coupon_id:
            return None
        self.created.append((coupon_id, external_id))
        return coupon_id, external_id

    async def _redeem(self, coupon_id: str, title: str) -> None:
        details = {"redemptionSource": f"{PREFIX}/{version('resolver')}"}
        await self._step(title, self.admin.redeem({"id": coupon_id, "redemptionDetails": details}))

    async def _read(self, external_id: str, title: str) -> Answer | None:
        return await self._step(
            title, self.admin.coupon_by_external_id(self.campaign_id, external_id)
        )

    async def _void_all(self) -> None:
        for coupon_id, external_id in self.created:
            body = {"id": coupon_id, "campaignId": self.campaign_id, "offerId": self.offer_id}
            await self._step(f"void {external_id}", self.admin.void(body))
            await self._read(external_id, "read the voided coupon by external id")
            await self._step("read the voided coupon by id", self.admin.coupon_by_id(coupon_id))

    async def _step(self, title: str, call: Awaitable[Answer]) -> Answer | None:
        try:
            answer = await call
        except UpstreamError as error:
            self.steps.append(Step(title, None, failure=str(error)))
            return None
        self.steps.append(Step(title, answer))
        return answer

    @property
    def cleaned_up(self) -> bool:
        """Whether every coupon the probe created was voided (a 2xx answer)."""
        voids = [step for step in self.steps if step.title.startswith("void ")]
        return len(voids) == len(self.created) and all(
            step.answer is not None and step.answer.ok for step in voids
        )


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
    from resolver.wiring import upstream_client  # noqa: PLC0415  # loaded when it runs

    async with upstream_client(settings) as client:
        admin = PassKitAdmin(client, base_url=base_url, auth=auth)
        started.append(Probe(admin, args.campaign, args.offer))
        await started[0].run()


def passkit_for(settings: Settings, campaign: str) -> tuple[str, httpx.Auth]:
    """The PassKit base URL and credentials that serve `campaign`."""
    from resolver import startup, wiring  # noqa: PLC0415  # loaded when it runs

    accounts = startup.check_files(settings)
    if accounts is None:
        startup.check(settings, embedded=False)
        return settings.passkit_url, wiring.upstream_auth(settings)
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


def _text(value: object) -> str:
    """A date field as PassKit sent it (unset dates come as null, "" or the zero date)."""
    date = reading.parse_date(value)
    return date.isoformat() if date else ""
