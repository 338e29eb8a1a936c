"""What an offer configures for PassKit's hosted redemption page, which this service honours:
how a coupon is redeemed there (a tap, a fixed code shown to staff, a code staff give) and what
the page says in each state, in each language.

Plain data, no I/O; `resolver.providers.passkit` reads it from the offer's
`redemptionSettings`, the claim store caches it with the offer.
"""

from __future__ import annotations

import enum
from dataclasses import asdict, dataclass, field
from typing import Any

# The merchant's texts, by this service's name for each (PassKit's field in the comment).
TEXTS = (
    "title",  # standardSettings.title
    "instructions",  # standardSettings.redemptionInstructions
    "footer",  # standardSettings.footerText
    "cta_text",  # standardSettings.callToActionButton.buttonText
    "cta_link",  # standardSettings.callToActionButton.link
    "confirm",  # responseTexts.redeemConfirmationDialogBoxText
    "cancel",  # responseTexts.cancelRedeemText
    "after_redeem",  # responseTexts.afterRedeemText
    "already_redeemed",  # responseTexts.couponAlreadyRedeemedText
    "offer_expired",  # responseTexts.offerExpiredText
    "coupon_expired",  # responseTexts.couponExpiredText
    "timer_help",  # fixedCodeSettings.redemptionTimer.timerHelpText
    "code_label",  # codeProvidedOnRedeemSettings.redemptionCodeInput.label
    "code_helper",  # … .helperText
    "code_error",  # … .errorMessage
    "code_placeholder",  # … .placeholder
    "code_submit",  # codeProvidedOnRedeemSettings.submitButtonText
)


class Redeeming(enum.StrEnum):
    """How a member's tap redeems, from the offer's `redemptionType` list."""

    TAP = "tap"  # REDEMPTION_TYPE_CUSTOMER_INITIATED (and API): the confirm button redeems
    FIXED_CODE = "fixed_code"  # …_CODE_FIXED: then a fixed code (or the SKU) is shown to staff
    CASHIER_CODE = "cashier_code"  # …_CODE_PROVIDED_ON_REDEEM: staff give a code to type


@dataclass(frozen=True, slots=True)
class Hosted:
    """An offer's hosted-page settings; the defaults are an offer that configures none."""

    redeeming: Redeeming = Redeeming.TAP
    fixed_code: str = ""
    use_sku: bool = False  # show the coupon's SKU instead of `fixed_code`
    barcode: str = ""  # the symbology to draw the fixed code as ("" = text only)
    timer_seconds: int = 0  # a countdown on the success screen (0 = none)
    valid_codes: tuple[str, ...] = ()
    code_pattern: str = ""  # a regular expression the cashier's code must match in full
    hide_redeemed_time: bool = False
    hide_cta: bool = False
    texts: dict[str, str] = field(default_factory=dict)  # name (TEXTS) -> text
    translations: dict[str, dict[str, str]] = field(default_factory=dict)  # name -> lang -> text

    def shown_code(self, sku: str) -> str:
        """The code the success screen shows staff for a coupon with `sku`."""
        return sku if self.use_sku and sku else self.fixed_code

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["redeeming"] = self.redeeming.value
        data["valid_codes"] = list(self.valid_codes)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Hosted:
        return cls(
            **{
                **data,
                "redeeming": Redeeming(data.get("redeeming", Redeeming.TAP.value)),
                "valid_codes": tuple(data.get("valid_codes", ())),
            }
        )
