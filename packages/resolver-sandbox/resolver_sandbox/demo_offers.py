"""Demo offers that show what an offer's hosted-page settings do on the service's screens: a
fixed code with a barcode and a countdown, a code the cashier gives, the merchant's own texts
in two languages, an offer switched off for now, and a 30-day offer whose coupon was issued 31
days ago (expired by the offer's rule, with no expiry date of its own). Each has one
unredeemed coupon in the demo campaign, under the external id `DemoOffers` names."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from resolver_sandbox.payloads import CouponSpec
from resolver_sandbox.records import AFTER_DAYS, Offer, Person

if TYPE_CHECKING:
    from resolver_sandbox.state import SandboxState

FIXED = "REDEMPTION_TYPE_CUSTOMER_INITIATED_CODE_FIXED"
PROVIDED = "REDEMPTION_TYPE_CUSTOMER_INITIATED_CODE_PROVIDED_ON_REDEEM"


@dataclass(frozen=True, slots=True)
class DemoOffers:
    """External ids of the demo campaign's coupons of each demo offer, and the cashier's code."""

    fixed_code: str = "demo-fixed-code"
    cashier_code: str = "demo-cashier-code"
    merchant_texts: str = "demo-merchant-texts"
    paused: str = "demo-paused"
    after_days: str = "demo-after-days"
    valid_cashier_code: str = "2468"


OFFERS = DemoOffers()


def _settings() -> dict[str, dict[str, Any]]:
    """Each demo offer's PassKit `redemptionSettings`, by external id."""
    return {
        OFFERS.fixed_code: {
            "redemptionType": [FIXED],
            "fixedCodeSettings": {
                "fixedCode": "COFFEE-2026",
                "barcode": "QR",
                "redemptionTimer": {
                    "timeoutSeconds": 120,
                    "timerHelpText": "Staff: scan or type the code before the timer ends.",
                },
            },
        },
        OFFERS.cashier_code: {
            "redemptionType": [PROVIDED],
            "codeProvidedOnRedeemSettings": {
                "validCodes": [OFFERS.valid_cashier_code],
                "redemptionCodeInput": {
                    "label": "Code from the barista",
                    "localizedLabel": {"translations": {"fr": "Code du barista"}},
                    "helperText": "The barista tells you a 4-digit code "
                    f"(demo: {OFFERS.valid_cashier_code}).",
                    "errorMessage": "That is not today's code: ask the barista again.",
                    "placeholder": "4 digits",
                    "validation": "[0-9]{4}",
                },
                "submitButtonText": "Send the code",
            },
        },
        OFFERS.merchant_texts: {
            "standardSettings": {
                "title": "Coffee week at Example Café",
                "localizedTitle": {"translations": {"FR": "Semaine du café chez Example Café"}},
                "redemptionInstructions": "Open this at the till and press the button.",
                "localizedRedemptionInstructions": {
                    "translations": {"FR": "Ouvrez ceci à la caisse et appuyez sur le bouton."}
                },
                "footerText": "Example Café · 1 Demo Street",
                "callToActionButton": {
                    "buttonText": "See the menu",
                    "localizedButtonText": {"translations": {"FR": "Voir la carte"}},
                    "link": "https://example.com/menu",
                },
                "responseTexts": {
                    "afterRedeemText": "Enjoy your coffee, and see you next week!",
                    "localizedAfterRedeemText": {
                        "translations": {"FR": "Bonne dégustation, et à la semaine prochaine !"}
                    },
                    "couponAlreadyRedeemedText": "This coffee was already served.",
                    "localizedCouponAlreadyRedeemedText": {
                        "translations": {"FR": "Ce café a déjà été servi."}
                    },
                },
            }
        },
        OFFERS.paused: {},
        OFFERS.after_days: {},
    }


def _expiry(external_id: str) -> dict[str, Any]:
    """The offer's couponExpirySettings: "30 days after issue" for the after-days demo offer."""
    if external_id != OFFERS.after_days:
        return {}
    return {"coupon_expiry_type": AFTER_DAYS, "expire_after_days": 30}


def seed_offer_settings(state: SandboxState, campaign_id: str) -> None:
    """Add the demo offers and one unredeemed coupon of each to `campaign_id`."""
    now = state.clock()
    for external_id, settings in _settings().items():
        offer_id = f"{external_id}-offer"
        after = external_id == OFFERS.after_days
        state.put_offer(
            Offer(
                id=offer_id,
                campaign_id=campaign_id,
                created=now - timedelta(days=30),
                updated=now - timedelta(days=30),
                offer_title="Free coffee",
                offer_short_title="Free coffee",
                offer_details="One free regular coffee of your choice.",
                localized_offer_title={"fr": "Café offert"},
                iana_timezone="Europe/London",
                redemption_start_date=now - timedelta(days=30),
                redemption_end_date=now + timedelta(days=365),
                redemption_settings_extra=settings,
                disabled=external_id == OFFERS.paused,
                **_expiry(external_id),
            )
        )
        state.create_coupons(
            [
                CouponSpec(
                    campaign_id=campaign_id,
                    external_id=external_id,
                    offer_id=offer_id,
                    # The 30-day offer's coupon has no date of its own, as PassKit leaves it.
                    expiry_date=None if after else now + timedelta(days=30),
                    created=now - timedelta(days=31) if after else None,
                    person=Person(forename="Alex", surname="Member", display_name="Alex Member"),
                    sku="COFFEE-REGULAR",
                )
            ]
        )
