"""`resolver check` for one PassKit account: its credentials, its region, its campaigns, and
each campaign's offers in plain words.

An account lives in exactly one PassKit region, and a wrong region looks like "no coupon"
everywhere. Whether PassKit's other region refuses the credentials (401) or accepts them and
finds nothing (404) is not documented, so either pattern is read: when the configured region
refuses the credentials or misses a campaign, the same read goes to the other region(s), and
the account is placed where it answers. Only reads are sent, and a credentials check reads a
campaign id made up for the purpose.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING

from resolver.cli.offer_words import describe_offer
from resolver.domain.errors import UpstreamError
from resolver.providers import reading
from resolver.providers.passkit_admin import PassKitAdmin
from resolver.providers.passkit_auth import PassKitTokenAuth

if TYPE_CHECKING:
    from collections.abc import Mapping
    from datetime import datetime

    import httpx

    from resolver.cli.findings import Report, Section
    from resolver.providers.passkit_admin import Answer


@dataclass(frozen=True, slots=True)
class PassKitTarget:
    """One PassKit account to check, as configured."""

    account: str  # "passkit" for the RESOLVER_PASSKIT_* settings, else the account's name
    region: str
    base_url: str | None  # an explicit base URL instead of the region's host
    auth: httpx.Auth
    campaigns: tuple[str, ...]
    region_setting: str  # where the operator sets the region: named in the advice


async def check_passkit(
    target: PassKitTarget,
    client: httpx.AsyncClient,
    report: Report,
    *,
    regions: Mapping[str, str],
    now: datetime,
) -> None:
    """Add the account's section, and one per campaign, to `report`."""
    home = target.base_url or regions[target.region]
    where = f"region {target.region}" if home in regions.values() else home
    section = report.section(f"PassKit account {target.account} ({where})")
    others = {name: url for name, url in regions.items() if url != home}
    if home not in regions.values():
        others = {}
        section.info(f"base URL {home}: the region is not checked")
    check = _AccountCheck(target, client, home, others)
    try:
        if not await check.credentials(section):
            return
        if not target.campaigns:
            section.info("no campaign to check here: name some with --campaign ID")
        for campaign_id in target.campaigns:
            await check.campaign(campaign_id, report, now)
    except UpstreamError as error:
        section.error(f"PassKit at {home} did not answer: {error}")


class _AccountCheck:
    """The reads of one account: at its configured host, and at the other regions' hosts."""

    def __init__(
        self,
        target: PassKitTarget,
        client: httpx.AsyncClient,
        home: str,
        others: Mapping[str, str],
    ) -> None:
        self._target = target
        self._admin = PassKitAdmin(client, base_url=home, auth=target.auth)
        self._others = {
            region: PassKitAdmin(client, base_url=url, auth=target.auth)
            for region, url in others.items()
        }

    async def credentials(self, section: Section) -> bool:
        """Whether PassKit accepts the credentials here; says where else it does, if it does."""
        target = self._target
        made_up = f"resolver-check-{secrets.token_hex(4)}"
        answer = await self._admin.campaign(made_up)
        if answer.status not in (401, 403):
            if answer.status == 404 or answer.ok:
                section.ok("credentials accepted")
                return True
            section.error(f"reading a campaign answered {_said(answer)}")
            return False
        for region, admin in self._others.items():
            elsewhere = await admin.campaign(made_up)
            if elsewhere.status == 404 or elsewhere.ok:
                section.error(
                    f"credentials refused in region {target.region} ({_said(answer)}) but "
                    f"accepted in region {region}: the account lives there; set "
                    f"{target.region_setting} = {region}"
                )
                return False
        what = "the token" if isinstance(target.auth, PassKitTokenAuth) else "the API key or secret"
        too = f"; in region(s) {', '.join(self._others)} too" if self._others else ""
        section.error(f"credentials refused ({_said(answer)}{too}): {what} is wrong")
        return False

    async def campaign(self, campaign_id: str, report: Report, now: datetime) -> None:
        """The campaign's section: where it exists, and its offers in plain words."""
        target = self._target
        section = report.section(f"campaign {campaign_id} (PassKit account {target.account})")
        answer = await self._admin.campaign(campaign_id)
        if answer.status == 404:
            for region, admin in self._others.items():
                if (await admin.campaign(campaign_id)).ok:
                    section.error(
                        f"not found in region {target.region}, but this campaign exists in "
                        f"region {region}: set {target.region_setting} = {region} (until then "
                        "every coupon reads as 'no coupon')"
                    )
                    return
            nowhere = f" nor in region(s) {', '.join(self._others)}" if self._others else ""
            section.error(f"not found in region {target.region}{nowhere}: check the campaign id")
            return
        if not answer.ok:
            section.error(f"reading it answered {_said(answer)}")
            return
        name = reading.as_text(answer.body.get("name"))
        section.ok(f"exists{f' ({name})' if name else ''}")
        offers = await self._admin.offers(campaign_id)
        if not offers.ok or offers.message:
            section.warn(f"listing its offers answered {_said(offers)}: offers not checked")
            return
        if not offers.items:
            section.error("has no offers: its coupons have nothing to show or redeem")
            return
        for offer in offers.items:
            describe_offer(offer, section, now=now)


def _said(answer: Answer) -> str:
    return f"{answer.status}: {answer.message}" if answer.message else str(answer.status)
