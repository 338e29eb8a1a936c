"""The hosted-page settings of a PassKit offer (`redemptionSettings`) in the resolver's terms.

Field names are PassKit's (its SDKs' `offer.proto`); every text may come with a `localized…`
twin, `{"translations": {"<LANGUAGE_CODE>": "…"}}`. Read leniently: a missing or malformed
part is simply not configured.
"""

from __future__ import annotations

from typing import Any

from resolver.domain.hosted import Hosted, Redeeming
from resolver.providers import reading

FIXED = "REDEMPTION_TYPE_CUSTOMER_INITIATED_CODE_FIXED"
PROVIDED = "REDEMPTION_TYPE_CUSTOMER_INITIATED_CODE_PROVIDED_ON_REDEEM"
# A countdown longer than a day is no countdown; more codes than this is not a list for a page.
MAX_TIMER = 86_400
MAX_CODES = 10_000


def parse_hosted(settings: dict[str, Any]) -> Hosted:
    """`redemptionSettings` as the page honours it."""
    standard = reading.as_object(settings.get("standardSettings"))
    responses = reading.as_object(standard.get("responseTexts"))
    button = reading.as_object(standard.get("callToActionButton"))
    fixed = reading.as_object(settings.get("fixedCodeSettings"))
    timer = reading.as_object(fixed.get("redemptionTimer"))
    provided = reading.as_object(settings.get("codeProvidedOnRedeemSettings"))
    code_input = reading.as_object(provided.get("redemptionCodeInput"))
    texts: dict[str, str] = {}
    translations: dict[str, dict[str, str]] = {}

    def text(name: str, source: dict[str, Any], key: str, localized: str | None = None) -> None:
        value = reading.as_text(source.get(key)).strip()
        if value:
            texts[name] = value
        twin = localized or "localized" + key[0].upper() + key[1:]
        found = reading.as_object(reading.as_object(source.get(twin)).get("translations"))
        kept = {str(lang): t for lang, t in found.items() if isinstance(t, str) and t.strip()}
        if kept:
            translations[name] = kept

    text("title", standard, "title")
    text("instructions", standard, "redemptionInstructions")
    text("footer", standard, "footerText")
    text("cta_text", button, "buttonText")
    text("cta_link", button, "link")
    text("confirm", responses, "redeemConfirmationDialogBoxText")
    text("cancel", responses, "cancelRedeemText")
    text("after_redeem", responses, "afterRedeemText")
    text("already_redeemed", responses, "couponAlreadyRedeemedText")
    text("offer_expired", responses, "offerExpiredText")
    text("coupon_expired", responses, "couponExpiredText")
    text("timer_help", timer, "timerHelpText", "localizedTimeHelpText")
    text("code_label", code_input, "label")
    text("code_helper", code_input, "helperText")
    text("code_error", code_input, "errorMessage")
    text("code_placeholder", code_input, "placeholder")
    text("code_submit", provided, "submitButtonText")
    codes = provided.get("validCodes")
    valid_codes = tuple(
        code.strip() for code in (codes if isinstance(codes, list) else []) if isinstance(code, str)
    )[:MAX_CODES]
    seconds = timer.get("timeoutSeconds")
    return Hosted(
        redeeming=redeeming(settings.get("redemptionType")),
        fixed_code=reading.as_text(fixed.get("fixedCode")).strip(),
        use_sku=fixed.get("useCouponSku") is True,
        barcode=reading.as_text(fixed.get("barcode")),
        timer_seconds=seconds if isinstance(seconds, int) and 0 < seconds <= MAX_TIMER else 0,
        valid_codes=tuple(code for code in valid_codes if code),
        code_pattern=reading.as_text(code_input.get("validation")),
        hide_redeemed_time=standard.get("hideRedeemedDateTime") is True,
        hide_cta=button.get("hideCallToActionButton") is True,
        texts=texts,
        translations=translations,
    )


def redeeming(types: object) -> Redeeming:
    """How a tap redeems, from `redemptionType` (a list, or one name): a cashier's code when
    the offer asks for one, else a fixed code when it shows one, else the tap itself."""
    names = types if isinstance(types, list) else [types]
    if PROVIDED in names:
        return Redeeming.CASHIER_CODE
    if FIXED in names:
        return Redeeming.FIXED_CODE
    return Redeeming.TAP
