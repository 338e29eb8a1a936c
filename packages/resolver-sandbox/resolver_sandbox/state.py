"""Everything the sandbox knows, in memory: campaigns, offers, coupons, call stats and faults.

Reads and writes are plain synchronous methods, so within one event loop a redeem's check and
flip can never interleave with another request: handlers must not await between them.
"""

from __future__ import annotations

import random
import string
from dataclasses import replace
from enum import Enum
from typing import TYPE_CHECKING

from resolver_sandbox.badge_api import BadgeState
from resolver_sandbox.demo import seed_demo
from resolver_sandbox.errors import BadRequest, Conflict, NotFound
from resolver_sandbox.faults import Faults
from resolver_sandbox.google_wallet_api import GoogleWalletState
from resolver_sandbox.inhouse_api import InhouseState
from resolver_sandbox.passworks_api import PassworksState
from resolver_sandbox.records import (
    PASS_INVALIDATED,
    REDEEMED,
    Campaign,
    Coupon,
    Offer,
    RedemptionDetails,
)
from resolver_sandbox.skycore_api import SkycoreState
from resolver_sandbox.stats import CallStats
from resolver_sandbox.timestamps import utc_now

if TYPE_CHECKING:
    from collections.abc import Callable, Collection, Sequence
    from datetime import datetime

    from resolver_sandbox.payloads import CouponSpec, RedeemTarget
    from resolver_sandbox.simulated import Simulated

_ID_ALPHABET = string.ascii_letters + string.digits
_ID_LENGTH = 22


class RedeemOutcome(Enum):
    """What a redeem call did to the coupon it named."""

    APPLIED = "applied"
    ALREADY_REDEEMED = "coupon already redeemed"
    VOIDED = "coupon voided"
    EXPIRED = "coupon expired"


class SandboxState:
    """The simulated PassKit account, and beside it every other simulated back end's state;
    `create_sandbox_app` serves one of these. Stats and faults are shared by all of them."""

    def __init__(self, *, clock: Callable[[], datetime] = utc_now, seed: int | None = None) -> None:
        """`clock` gives the time expiry is judged by; `seed` fixes the coupon ids generated."""
        self.clock = clock
        self.campaigns: dict[str, Campaign] = {}
        self.offers: dict[str, Offer] = {}
        self.coupons: dict[str, Coupon] = {}
        # (campaignId, externalId) -> id of the coupon currently holding that external id.
        self._holders: dict[tuple[str, str], str] = {}
        self.stats = CallStats()
        self.faults = Faults()
        self._ids = random.Random(seed)  # noqa: S311  (ids must look random, not be secret)
        self.passworks = PassworksState(clock)
        self.skycore = SkycoreState(clock)
        self.google = GoogleWalletState(clock)
        self.inhouse = InhouseState(clock)
        self.badge = BadgeState()

    @property
    def simulated(self) -> dict[str, Simulated]:
        """The other back ends' states, by the name their admin API and stats use."""
        return {
            "passworks": self.passworks,
            "skycore": self.skycore,
            "google": self.google,
            "inhouse": self.inhouse,
            "badge": self.badge,
        }

    def seed_demo(self) -> None:
        """Add the demo campaign, offer and coupons named in `DEMO`, in every back end."""
        seed_demo(self)

    def reset(self, *, empty: bool = False) -> None:
        """Back to the demo seed (or to nothing), with stats zeroed and faults cleared."""
        self.campaigns.clear()
        self.offers.clear()
        self.coupons.clear()
        self._holders.clear()
        for simulated in self.simulated.values():
            simulated.clear()
        self.stats.clear()
        self.faults.clear()
        if not empty:
            self.seed_demo()

    # Reads

    def coupon_by_external_id(self, campaign_id: str, external_id: str) -> Coupon | None:
        """The coupon currently holding `external_id` in `campaign_id`."""
        coupon_id = self._holders.get((campaign_id, external_id))
        return None if coupon_id is None else self.coupons[coupon_id]

    def find(self, target: RedeemTarget) -> Coupon | None:
        """The coupon a redeem call names, by id if it gives one."""
        if target.coupon_id:
            return self.coupons.get(target.coupon_id)
        return self.coupon_by_external_id(target.campaign_id, target.external_id)

    def coupons_in(self, campaign_id: str | None = None) -> list[Coupon]:
        """Every coupon, or those of one campaign, oldest first."""
        if campaign_id is None:
            return list(self.coupons.values())
        return [coupon for coupon in self.coupons.values() if coupon.campaign_id == campaign_id]

    # Writes

    def put_campaign(
        self, campaign_id: str, *, name: str = "", iana_timezone: str = ""
    ) -> Campaign:
        """Create the campaign, or rename it and change its time zone when it exists."""
        campaign = self.campaigns.get(campaign_id)
        if campaign is None:
            campaign = Campaign(id=campaign_id, name=name or campaign_id, created=self.clock())
            self.campaigns[campaign_id] = campaign
        if name:
            campaign.name = name
        if iana_timezone:
            campaign.iana_timezone = iana_timezone
        return campaign

    def put_offer(self, offer: Offer) -> bool:
        """Create or replace `offer` (creating its campaign); True when it is new."""
        existing = self.offers.get(offer.id)
        if existing is not None and existing.campaign_id != offer.campaign_id:
            raise BadRequest(f"offer {offer.id} belongs to campaign {existing.campaign_id}")
        campaign = self.put_campaign(offer.campaign_id)
        if existing is not None:
            offer = replace(offer, created=existing.created)
        self.offers[offer.id] = offer
        if not campaign.default_offer_id:
            campaign.default_offer_id = offer.id
        return existing is None

    def create_coupons(self, specs: Sequence[CouponSpec]) -> list[Coupon]:
        """Create every coupon in `specs`, or none of them when one would conflict."""
        self._check_new(specs)
        return [self._insert(spec) for spec in specs]

    def reissue(self, spec: CouponSpec, *, inherit: Collection[str] = ()) -> Coupon:
        """Give the external id in `spec` to a new coupon; the old one stays, invalidated.

        `inherit` names the fields ("person", "sku", "metaData") the new coupon copies from
        the old one; the offer is copied unless `spec` names one, the expiry date never is.
        """
        old = self.coupon_by_external_id(spec.campaign_id, spec.external_id)
        if old is None:
            raise NotFound(f"no coupon holds externalId {spec.external_id} in {spec.campaign_id}")
        spec = replace(
            spec,
            offer_id=spec.offer_id or old.offer_id,
            person=old.person if "person" in inherit else spec.person,
            sku=old.sku if "sku" in inherit else spec.sku,
            meta_data=old.meta_data if "metaData" in inherit else spec.meta_data,
        )
        self._check_new([spec], replacing=old)
        old.pass_status = PASS_INVALIDATED
        old.updated = self.clock()
        return self._insert(spec)

    def redeem(self, coupon: Coupon, details: RedemptionDetails) -> RedeemOutcome:
        """Flip `coupon` to REDEEMED if it can be redeemed now; say why not otherwise."""
        if coupon.status == REDEEMED and not self.faults.config.accept_repeats:
            return RedeemOutcome.ALREADY_REDEEMED
        if coupon.pass_status == PASS_INVALIDATED:
            return RedeemOutcome.VOIDED
        now = self.clock()
        offer = self.offers.get(coupon.offer_id)
        ends = offer.coupon_ends(coupon.created) if offer is not None else None
        if coupon.expired_at(now) or (ends is not None and ends <= now):
            return RedeemOutcome.EXPIRED
        if offer is not None and not offer.redeemable_at(now):
            return RedeemOutcome.EXPIRED
        details.redemption_date = now
        coupon.redemption = details
        coupon.status = REDEEMED
        coupon.updated = now
        self.stats.count_applied(coupon)
        return RedeemOutcome.APPLIED

    def void(self, coupon: Coupon) -> None:
        """Void `coupon`: it stays readable by id, invalidated, and frees its external id."""
        coupon.pass_status = PASS_INVALIDATED
        coupon.updated = self.clock()
        key = (coupon.campaign_id, coupon.external_id)
        if self._holders.get(key) == coupon.id:
            del self._holders[key]

    # Helpers

    def _check_new(self, specs: Sequence[CouponSpec], *, replacing: Coupon | None = None) -> None:
        """Refuse a batch in which any coupon would take an id or external id already in use."""
        holders = set(self._holders)
        if replacing is not None:
            holders.discard((replacing.campaign_id, replacing.external_id))
        ids: set[str] = set()
        for spec in specs:
            key = (spec.campaign_id, spec.external_id)
            if key in holders:
                raise Conflict(
                    f"externalId {spec.external_id} already has a coupon in {spec.campaign_id}"
                    " (reissue it instead)"
                )
            holders.add(key)
            if spec.coupon_id and (spec.coupon_id in self.coupons or spec.coupon_id in ids):
                raise Conflict(f"coupon id {spec.coupon_id} is already taken")
            ids.add(spec.coupon_id)
            offer = self.offers.get(spec.offer_id)
            if offer is not None and offer.campaign_id != spec.campaign_id:
                raise BadRequest(f"offer {spec.offer_id} belongs to campaign {offer.campaign_id}")

    def _insert(self, spec: CouponSpec) -> Coupon:
        now = self.clock()
        redemption = spec.redemption or RedemptionDetails()
        if spec.status == REDEEMED:
            redemption = replace(redemption, redemption_date=redemption.redemption_date or now)
        else:
            redemption = replace(redemption, redemption_date=None)
        coupon = Coupon(
            id=spec.coupon_id or self._new_id(),
            external_id=spec.external_id,
            campaign_id=spec.campaign_id,
            offer_id=self._offer_for(spec),
            created=spec.created or now,
            updated=now,
            status=spec.status,
            expiry_date=spec.expiry_date,
            person=spec.person,
            sku=spec.sku,
            meta_data=dict(spec.meta_data),
            redemption=redemption,
            pass_status=spec.pass_status,
        )
        self.coupons[coupon.id] = coupon
        self._holders[spec.campaign_id, spec.external_id] = coupon.id
        return coupon

    def _offer_for(self, spec: CouponSpec) -> str:
        """The offer a new coupon belongs to, making a default one when it does not exist yet."""
        campaign = self.put_campaign(spec.campaign_id)
        offer_id = spec.offer_id or campaign.default_offer_id or f"{spec.campaign_id}-offer"
        if offer_id not in self.offers:
            now = self.clock()
            self.put_offer(
                Offer(
                    id=offer_id,
                    campaign_id=spec.campaign_id,
                    created=now,
                    updated=now,
                    offer_title="Sandbox offer",
                    offer_short_title="Sandbox offer",
                    offer_details=f"An offer of campaign {spec.campaign_id}.",
                    iana_timezone="UTC",
                )
            )
        return offer_id

    def _new_id(self) -> str:
        while True:
            coupon_id = "".join(self._ids.choices(_ID_ALPHABET, k=_ID_LENGTH))
            if coupon_id not in self.coupons:
                return coupon_id
