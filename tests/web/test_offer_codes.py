"""The offer's redemption types on the member's screens: a fixed code (or the coupon's SKU)
shown large on the success screen, as a barcode and with a countdown when the offer says so,
and a code the cashier gives, asked on the confirm screen and checked before anything is
claimed. Either goes upstream as `redemptionCode`."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pytest

from resolver.app import create_app
from tests.conftest import Clock, running
from tests.support.pages import assert_valid_html5, form_of

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable

    import httpx
    from redis.asyncio import Redis

    from resolver.settings import Settings
    from tests.support.passkit import PassKitDouble

LINK = {"externalId": "member-1", "campaignId": "camp-1"}
FIXED = "REDEMPTION_TYPE_CUSTOMER_INITIATED_CODE_FIXED"
PROVIDED = "REDEMPTION_TYPE_CUSTOMER_INITIATED_CODE_PROVIDED_ON_REDEEM"


def fixed_code_offer(passkit: PassKitDouble, **settings: Any) -> None:
    fixed = {"fixedCode": "CAFE-2026", **settings}
    passkit.add_offer(
        "offer-1", redemptionSettings={"redemptionType": [FIXED], "fixedCodeSettings": fixed}
    )


def cashier_offer(passkit: PassKitDouble, **code_input: Any) -> None:
    provided = {
        "validCodes": ["4711", "0815"],
        "redemptionCodeInput": {
            "label": "Till code",
            "localizedLabel": {"translations": {"fr": "Code de la caisse"}},
            "helperText": "The barista tells you.",
            "errorMessage": "Ask the barista again.",
            "placeholder": "e.g. 1234",
            **code_input,
        },
        "submitButtonText": "Send the code",
    }
    passkit.add_offer(
        "offer-1",
        redemptionSettings={"redemptionType": [PROVIDED], "codeProvidedOnRedeemSettings": provided},
    )


async def redeem(client: httpx.AsyncClient, **fields: str) -> httpx.Response:
    confirm = await client.get("/redeem", params=LINK)
    return await client.post("/redeem", data={**form_of(confirm), **fields}, follow_redirects=True)


async def test_a_fixed_code_is_shown_large_and_sent_upstream(
    client: httpx.AsyncClient, passkit: PassKitDouble
) -> None:
    """The success screen shows the offer's fixed code; PassKit hears it as redemptionCode."""
    fixed_code_offer(passkit)
    passkit.add("member-1")
    done = await redeem(client)
    assert done.status_code == 200
    assert '<p class="shown-code">CAFE-2026</p>' in done.text
    assert "Show this code to staff" in done.text
    assert 'class="barcode"' not in done.text  # no barcode type set: the code as text
    assert passkit.redeem_bodies[0]["redemptionDetails"]["redemptionCode"] == "CAFE-2026"
    assert_valid_html5(done)


async def test_the_coupons_sku_is_shown_when_the_offer_says_so(
    client: httpx.AsyncClient, passkit: PassKitDouble
) -> None:
    """`useCouponSku`: the coupon's own SKU, read from the coupon, is the code."""
    fixed_code_offer(passkit, useCouponSku=True)
    passkit.add("member-1", sku="SKU-98765")
    done = await redeem(client)
    assert '<p class="shown-code">SKU-98765</p>' in done.text
    assert passkit.redeem_bodies[0]["redemptionDetails"]["redemptionCode"] == "SKU-98765"


@pytest.mark.parametrize("kind", ["QR", "CODE128", "PDF417", "AZTEC"])
async def test_the_fixed_code_is_drawn_as_the_offers_barcode_type(
    client: httpx.AsyncClient, passkit: PassKitDouble, kind: str
) -> None:
    """Each PassKit barcode type is an inline SVG (no script, no style attribute), beside the
    code as text."""
    fixed_code_offer(passkit, barcode=kind)
    passkit.add("member-1")
    done = await redeem(client)
    svg = re.search(r'<div class="barcode"[^>]*>(<svg.*?</svg>)', done.text, re.S)
    assert svg is not None
    assert "viewBox" in svg.group(1)
    assert "style=" not in svg.group(1)
    assert "<script" not in svg.group(1)
    assert '<p class="shown-code">CAFE-2026</p>' in done.text


async def test_a_countdown_says_until_when_without_javascript(
    client: httpx.AsyncClient, passkit: PassKitDouble
) -> None:
    """With a redemption timer the screen names the time to show the code before, loads the
    countdown script, and reloads itself by then at the latest."""
    fixed_code_offer(
        passkit, redemptionTimer={"timeoutSeconds": 5, "timerHelpText": "Staff: check the timer."}
    )
    passkit.add("member-1")
    done = await redeem(client)
    assert "Show it before" in done.text
    assert "Staff: check the timer." in done.text
    assert "countdown.js" in done.text
    assert 'id="countdown-box"' in done.text
    assert int(done.headers["refresh"].split(";")[0]) <= 6


@pytest.fixture
async def later(
    make_settings: Callable[..., Settings], passkit: PassKitDouble, redis: Redis
) -> AsyncIterator[tuple[httpx.AsyncClient, Clock]]:
    clock = Clock()
    async with running(create_app(make_settings(), clock=clock)) as client:
        yield client, clock


async def test_once_the_countdown_is_over_the_code_is_no_longer_shown(
    later: tuple[httpx.AsyncClient, Clock], passkit: PassKitDouble
) -> None:
    """The receipt reloaded after the timer says the time is over and shows no code."""
    client, clock = later
    fixed_code_offer(passkit, redemptionTimer={"timeoutSeconds": 60}, barcode="QR")
    passkit.add("member-1")
    done = await redeem(client)
    receipt = str(done.url)
    clock.shift = timedelta(seconds=61)
    again = await client.get(receipt)
    assert "The time to show this code is over." in again.text
    assert "CAFE-2026" not in again.text
    assert 'class="barcode"' not in again.text


async def test_the_cashier_code_is_asked_with_the_offers_texts(
    client: httpx.AsyncClient, passkit: PassKitDouble
) -> None:
    """The confirm screen asks for the code with the offer's label, helper, placeholder and
    button text, in the member's language when the offer has it."""
    cashier_offer(passkit)
    passkit.add("member-1")
    page = await client.get("/redeem", params=LINK)
    for text in ("Till code", "The barista tells you.", 'placeholder="e.g. 1234"', "Send the code"):
        assert text in page.text
    assert 'name="redemptionCode"' in page.text
    assert_valid_html5(page)
    french = await client.get("/redeem", params={**LINK, "lang": "fr"})
    assert "Code de la caisse" in french.text


async def test_a_right_cashier_code_redeems_and_goes_upstream(
    client: httpx.AsyncClient, passkit: PassKitDouble
) -> None:
    """One of the valid codes redeems, and PassKit hears it as redemptionCode."""
    cashier_offer(passkit)
    passkit.add("member-1")
    done = await redeem(client, redemptionCode=" 0815 ")
    assert done.status_code == 200
    assert "Redeemed" in done.text
    assert passkit.redeem_bodies[0]["redemptionDetails"]["redemptionCode"] == "0815"


async def test_a_wrong_cashier_code_claims_nothing_and_says_the_offers_error(
    client: httpx.AsyncClient, passkit: PassKitDouble
) -> None:
    """A wrong code: 403, the confirm screen again with the offer's error and the tries left,
    nothing sent upstream; a missing one is asked for."""
    cashier_offer(passkit)
    passkit.add("member-1")
    wrong = await redeem(client, redemptionCode="9999")
    assert wrong.status_code == 403
    assert "Ask the barista again." in wrong.text
    assert "tries left" in wrong.text
    assert "9999" not in wrong.text
    missing = await redeem(client)
    assert missing.status_code == 403
    assert "Type the code from staff" in missing.text
    assert passkit.redeem_calls == 0


async def test_a_validation_pattern_decides_without_a_list(
    client: httpx.AsyncClient, passkit: PassKitDouble
) -> None:
    """Without validCodes, a code matching the offer's pattern in full is accepted."""
    passkit.add_offer(
        "offer-1",
        redemptionSettings={
            "redemptionType": [PROVIDED],
            "codeProvidedOnRedeemSettings": {
                "redemptionCodeInput": {"validation": "[A-Z]{2}[0-9]{3}"}
            },
        },
    )
    passkit.add("member-1")
    assert (await redeem(client, redemptionCode="AB12")).status_code == 403
    assert (await redeem(client, redemptionCode="AB123x")).status_code == 403
    assert (await redeem(client, redemptionCode="AB123")).status_code == 200


async def test_wrong_cashier_codes_lock_out_like_staff_codes(
    make_settings: Callable[..., Settings], passkit: PassKitDouble, redis: Redis
) -> None:
    """After the staff codes' limit of wrong codes, the coupon is locked out: 429, no redeem,
    even for the right code."""
    cashier_offer(passkit)
    passkit.add("member-1")
    async with running(create_app(make_settings(staff_max_failures=2))) as client:
        assert (await redeem(client, redemptionCode="1")).status_code == 403
        assert (await redeem(client, redemptionCode="2")).status_code == 429
        assert (await redeem(client, redemptionCode="4711")).status_code == 429
    assert passkit.redeem_calls == 0


@pytest.fixture
async def instant(
    make_settings: Callable[..., Settings], passkit: PassKitDouble, redis: Redis
) -> AsyncIterator[httpx.AsyncClient]:
    async with running(create_app(make_settings(redeem_mode="instant"))) as client:
        yield client


async def test_instant_mode_still_asks_for_the_cashiers_code(
    instant: httpx.AsyncClient, passkit: PassKitDouble
) -> None:
    """A GET that would redeem shows the confirm form instead when the offer wants a code."""
    cashier_offer(passkit)
    passkit.add("member-1")
    page = await instant.get("/redeem", params=LINK)
    assert page.status_code == 200
    assert 'name="redemptionCode"' in page.text
    assert form_of(page)["token"]
    assert passkit.redeem_calls == 0


async def test_instant_mode_sends_and_shows_the_fixed_code(
    instant: httpx.AsyncClient, passkit: PassKitDouble
) -> None:
    """Redeemed on the tap, the fixed code goes upstream and onto the receipt."""
    fixed_code_offer(passkit, useCouponSku=True)
    passkit.add("member-1", sku="SKU-1")
    done = await instant.get("/redeem", params=LINK, follow_redirects=True)
    assert '<p class="shown-code">SKU-1</p>' in done.text
    assert passkit.redeem_bodies[0]["redemptionDetails"]["redemptionCode"] == "SKU-1"


async def test_wrong_cashier_codes_spend_the_clients_miss_budget(
    make_settings: Callable[..., Settings], passkit: PassKitDouble, redis: Redis
) -> None:
    """Like wrong staff codes, wrong cashier's codes are misses: past the client's budget even
    the right code is refused (429) before it is checked."""
    cashier_offer(passkit)
    passkit.add("member-1")
    settings = make_settings(rate_limit_misses="2/hour", staff_max_failures=50)
    async with running(create_app(settings)) as client:
        form = form_of(await client.get("/redeem", params=LINK))
        for wrong in ("1", "2"):
            answer = await client.post("/redeem", data={**form, "redemptionCode": wrong})
            assert answer.status_code == 403
            form = form_of(answer)  # the confirm screen again, with a fresh token
        right = await client.post("/redeem", data={**form, "redemptionCode": "4711"})
    assert right.status_code == 429
    assert passkit.redeem_calls == 0
