"""The demo data a fresh sandbox starts with, and the identifiers the service prints links for."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from resolver_sandbox import badge_api, google_wallet_api, inhouse_api, passworks_api, skycore_api
from resolver_sandbox.demo_offers import seed_offer_settings
from resolver_sandbox.payloads import CouponSpec
from resolver_sandbox.records import REDEEMED, Offer, Person, RedemptionDetails
from resolver_sandbox.simulated import Spec

if TYPE_CHECKING:
    from resolver_sandbox.state import SandboxState


@dataclass(frozen=True, slots=True)
class DemoIds:
    """Identifiers of the demo seed; the last four are external ids in `campaign_id`."""

    campaign_id: str = "demo-campaign"
    offer_id: str = "demo-offer"
    unredeemed: str = "demo-unredeemed"
    redeemed: str = "demo-redeemed"
    expired: str = "demo-expired"
    # An external id no coupon has, for the "no such coupon" page.
    unknown: str = "demo-unknown"
    # The campaign of each other simulated back end, holding the same three external ids.
    passworks_campaign: str = passworks_api.DEMO_CAMPAIGN
    skycore_template: str = skycore_api.DEMO_TEMPLATE
    google_class: str = google_wallet_api.DEMO_CLASS
    inhouse_campaign: str = inhouse_api.DEMO_CAMPAIGN
    badge_template: str = badge_api.DEMO_TEMPLATE

    @property
    def other_campaigns(self) -> dict[str, str]:
        """Back end name → its demo campaign, for every simulated back end but PassKit."""
        return {
            "passworks": self.passworks_campaign,
            "skycore": self.skycore_template,
            "google": self.google_class,
            "inhouse": self.inhouse_campaign,
            "badge": self.badge_template,
        }


DEMO = DemoIds()


def seed_demo(state: SandboxState) -> None:
    """Add the demo campaign, its "Free coffee" offer and one coupon in each state; and the
    same three coupons in every other simulated back end's demo campaign."""
    seed_passkit(state)
    now = state.clock()
    for api, campaign in DEMO.other_campaigns.items():
        state.simulated[api].create(
            [
                Spec(campaign, DEMO.unredeemed, expiry_date=now + timedelta(days=30)),
                Spec(campaign, DEMO.redeemed, "redeemed", now + timedelta(days=30)),
                Spec(campaign, DEMO.expired, expiry_date=now - timedelta(days=1)),
            ]
        )


def seed_passkit(state: SandboxState) -> None:
    """The PassKit part of the demo (with the offers showing hosted-page settings)."""
    now = state.clock()
    state.put_campaign(DEMO.campaign_id, name="Demo campaign", iana_timezone="Europe/London")
    state.put_offer(
        Offer(
            id=DEMO.offer_id,
            campaign_id=DEMO.campaign_id,
            created=now - timedelta(days=30),
            updated=now - timedelta(days=30),
            offer_title="Free coffee",
            offer_short_title="Free coffee",
            offer_details="One free regular coffee of your choice at any participating store.",
            offer_fine_print="One per member. Not exchangeable for cash.",
            localized_offer_title={"fr": "Café offert", "de": "Gratis-Kaffee"},
            localized_offer_short_title={"fr": "Café offert", "de": "Gratis-Kaffee"},
            localized_offer_details={
                "fr": "Un café classique de votre choix offert dans les magasins participants.",
                "de": "Ein normaler Kaffee Ihrer Wahl gratis in allen teilnehmenden Filialen.",
            },
            localized_offer_fine_print={
                "fr": "Un par membre. Non échangeable contre des espèces.",
                "de": "Einer pro Mitglied. Keine Barauszahlung.",
            },
            iana_timezone="Europe/London",
            redemption_start_date=now - timedelta(days=30),
            redemption_end_date=now + timedelta(days=365),
        )
    )
    state.create_coupons(
        [
            CouponSpec(
                campaign_id=DEMO.campaign_id,
                external_id=DEMO.unredeemed,
                offer_id=DEMO.offer_id,
                expiry_date=now + timedelta(days=30),
                person=_member("Alex"),
                sku="COFFEE-REGULAR",
            ),
            CouponSpec(
                campaign_id=DEMO.campaign_id,
                external_id=DEMO.redeemed,
                offer_id=DEMO.offer_id,
                status=REDEEMED,
                expiry_date=now + timedelta(days=30),
                person=_member("Sam"),
                sku="COFFEE-REGULAR",
                redemption=RedemptionDetails(
                    redemption_date=now - timedelta(days=1),
                    redemption_source="sandbox seed",
                    redemption_reference="Demo store, till 1",
                ),
            ),
            CouponSpec(
                campaign_id=DEMO.campaign_id,
                external_id=DEMO.expired,
                offer_id=DEMO.offer_id,
                expiry_date=now - timedelta(days=1),
                person=_member("Robin"),
                sku="COFFEE-REGULAR",
            ),
        ]
    )
    seed_offer_settings(state, DEMO.campaign_id)


def _member(forename: str) -> Person:
    return Person(
        forename=forename,
        surname="Member",
        display_name=f"{forename} Member",
        email_address=f"{forename.lower()}.member@example.com",
    )
