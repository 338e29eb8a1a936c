"""Staff-verified redemption over HTTP: the confirm page's code, the API's staffCode, lockouts."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pytest

from resolver.app import create_app
from resolver.domain.errors import StaffFileError
from tests.conftest import running, running_from
from tests.support.pages import assert_valid_html5, form_of
from tests.support.staff import OTHER_PIN, PIN, store_code, write_staff_file

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable
    from pathlib import Path

    import httpx
    from redis.asyncio import Redis

    from resolver.settings import Settings
    from tests.support.passkit import PassKitDouble

LINK = {"externalId": "member-1", "campaignId": "camp-1"}
API = "/api/v1/redeem"
ANA = {
    "verifiedBy": "pin",
    "storeId": "paris",
    "storeName": "Paris Opéra",
    "employeeId": "ana",
    "employeeName": "Ana Lima",
}


@pytest.fixture
def staff_settings(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> Callable[..., Settings]:
    """Settings with the test staff file; keyword overrides as for make_settings."""

    def make(campaigns: dict[str, str] | None = None, **overrides: Any) -> Settings:
        folder = tmp_path / str(len(list(tmp_path.iterdir())))  # one file per settings
        folder.mkdir()
        path = write_staff_file(folder, campaigns)
        values = {"staff_verification": "required", "staff_file": str(path)} | overrides
        return make_settings(**values)

    return make


@pytest.fixture
async def required(
    staff_settings: Callable[..., Settings], passkit: PassKitDouble, redis: Redis
) -> AsyncIterator[httpx.AsyncClient]:
    async with running(create_app(staff_settings())) as client:
        yield client


async def confirm_page(client: httpx.AsyncClient, passkit: PassKitDouble) -> httpx.Response:
    passkit.add("member-1")
    page = await client.get("/redeem", params=LINK)
    assert page.status_code == 200
    return page


async def test_required_asks_for_a_labelled_numeric_code_that_the_browser_enforces(
    required: httpx.AsyncClient, passkit: PassKitDouble
) -> None:
    """A numeric keypad, one-time-code autofill, `required`, and a label tied to the field."""
    page = await confirm_page(required, passkit)
    assert_valid_html5(page)
    assert '<label for="staff-code">Staff code</label>' in page.text
    field = page.text.split('<input id="staff-code"')[1].split(">")[0]
    for attribute in ('name="staffCode"', 'inputmode="numeric"', 'autocomplete="one-time-code"'):
        assert attribute in field
    assert " required" in field
    assert "aria-invalid" not in field


async def test_optional_offers_the_field_and_redeems_without_a_code(
    staff_settings: Callable[..., Settings], passkit: PassKitDouble, redis: Redis
) -> None:
    """Without a code the button alone redeems, and nobody is named."""
    async with running(create_app(staff_settings(staff_verification="optional"))) as client:
        page = await confirm_page(client, passkit)
        assert "Staff code (optional)" in page.text
        assert " required" not in page.text.split('<input id="staff-code"')[1].split(">")[0]
        answer = await client.post("/redeem", data=form_of(page))
        receipt = await client.get(answer.headers["location"])
    assert receipt.status_code == 200
    assert "Verified" not in receipt.text
    assert "redemptionReference" not in passkit.redeem_bodies[0]["redemptionDetails"]


async def test_off_shows_no_field_and_ignores_a_code(
    make_settings: Callable[..., Settings], passkit: PassKitDouble, redis: Redis
) -> None:
    """The default: no field, and a staffCode sent to the API changes nothing."""
    async with running(create_app(make_settings())) as client:
        page = await confirm_page(client, passkit)
        answer = await client.post(API, params=LINK | {"staffCode": "000000"})
    assert "staffCode" not in page.text
    assert answer.status_code == 200
    assert answer.json()["verifiedBy"] is None


async def test_a_right_pin_redeems_once_naming_the_employee_everywhere(
    required: httpx.AsyncClient, passkit: PassKitDouble
) -> None:
    """Upstream reference and metadata, the success screen, and a repeat that calls nothing."""
    page = await confirm_page(required, passkit)
    fields = form_of(page) | {"staffCode": PIN}
    answer = await required.post("/redeem", data=fields)
    assert answer.status_code == 303
    receipt = await required.get(answer.headers["location"])
    assert "Verified by Ana Lima · Paris Opéra" in receipt.text
    again = await required.post("/redeem", data=fields)
    assert again.headers["location"] == answer.headers["location"]
    assert passkit.redeem_calls == 1
    details = passkit.redeem_bodies[0]["redemptionDetails"]
    assert details["redemptionReference"] == "Paris Opéra (paris) · Ana Lima (ana)"
    assert details["metaData"] == ANA


async def test_the_success_screen_says_verified_in_the_members_language(
    required: httpx.AsyncClient, passkit: PassKitDouble
) -> None:
    """The attribution line is translated like the rest of the screen."""
    page = await confirm_page(required, passkit)
    answer = await required.post("/redeem", data=form_of(page) | {"staffCode": PIN, "lang": "de"})
    receipt = await required.get(answer.headers["location"])
    assert "Bestätigt von Ana Lima · Paris Opéra" in receipt.text


async def test_a_wrong_code_asks_again_with_a_fresh_token_and_burns_nothing(
    required: httpx.AsyncClient, passkit: PassKitDouble
) -> None:
    """403, the tries left, a new token; the first token still redeems with the right code."""
    page = await confirm_page(required, passkit)
    first = form_of(page)
    wrong = await required.post("/redeem", data=first | {"staffCode": "000000"})
    assert wrong.status_code == 403
    assert_valid_html5(wrong)
    assert "That code is not right. 4 tries left." in wrong.text
    assert 'aria-invalid="true"' in wrong.text
    assert "000000" not in wrong.text
    assert form_of(wrong)["token"] != first["token"]
    assert passkit.redeem_calls == 0
    right = await required.post("/redeem", data=first | {"staffCode": PIN})
    assert right.status_code == 303
    assert passkit.redeem_calls == 1


async def test_a_missing_code_asks_for_it_without_counting_a_try(
    required: httpx.AsyncClient, passkit: PassKitDouble, redis: Redis
) -> None:
    """Required and absent (no browser validation, e.g. a script): asked again, no try spent."""
    page = await confirm_page(required, passkit)
    answer = await required.post("/redeem", data=form_of(page))
    assert answer.status_code == 403
    assert "Type the staff code to redeem this coupon." in answer.text
    assert await redis.keys("rr:v:*") == []
    assert passkit.redeem_calls == 0


async def test_a_wrong_code_after_the_coupon_was_used_shows_its_state(
    required: httpx.AsyncClient, passkit: PassKitDouble
) -> None:
    """Asking again reads the coupon afresh: redeemed meanwhile, it says so."""
    page = await confirm_page(required, passkit)
    passkit.add("member-1", status="REDEEMED", redeemed_at=datetime.now(UTC))
    answer = await required.post("/redeem", data=form_of(page) | {"staffCode": "000000"})
    assert answer.status_code == 200
    assert "already redeemed" in answer.text


@pytest.mark.parametrize(
    "send",
    [
        {"params": LINK | {"staffCode": PIN}},
        {"json": LINK | {"staffCode": PIN}},
        {"data": LINK | {"staffCode": PIN}},
        {"json": LINK | {"staffCode": int(PIN)}},
    ],
    ids=["query", "json", "form", "json-number"],
)
async def test_a_till_sends_the_code_as_staff_code(
    required: httpx.AsyncClient, passkit: PassKitDouble, send: dict[str, Any]
) -> None:
    """Query string, JSON (a string, or a number as no-code tools send it) or form: the JSON
    answer says who verified."""
    passkit.add("member-1")
    answer = await required.post(API, **send)
    assert answer.status_code == 200
    assert answer.json()["verifiedBy"] == {
        "method": "pin",
        "storeId": "paris",
        "storeName": "Paris Opéra",
        "employeeId": "ana",
        "employeeName": "Ana Lima",
    }


async def test_the_api_says_why_a_code_was_refused(
    required: httpx.AsyncClient, passkit: PassKitDouble
) -> None:
    """403 verification_required / verification_failed (with triesLeft); a fraction is a 400."""
    passkit.add("member-1")
    missing = await required.post(API, json=LINK)
    wrong = await required.post(API, json=LINK | {"staffCode": "000000"})
    fraction = await required.post(API, json=LINK | {"staffCode": 908190.0})
    assert (missing.status_code, missing.json()["outcome"]) == (403, "verification_required")
    assert (wrong.status_code, wrong.json()["outcome"]) == (403, "verification_failed")
    assert wrong.json()["triesLeft"] == 4
    assert (fraction.status_code, fraction.json()["outcome"]) == (400, "invalid_request")
    assert "staffCode must be a string or an integer" in fraction.json()["detail"]
    assert passkit.redeem_calls == 0


async def test_the_store_code_redeems_as_the_store(
    required: httpx.AsyncClient, passkit: PassKitDouble
) -> None:
    """The rotating code names the store, and says it was the store code."""
    passkit.add("member-1")
    code = store_code(datetime.now(UTC))
    answer = await required.post(API, json=LINK | {"staffCode": code})
    again = await required.post(API, json=LINK | {"staffCode": code})
    assert answer.json()["verifiedBy"]["method"] == "store_code"
    assert (again.status_code, again.json()["redeemedHere"]) == (409, True)
    assert passkit.redeem_calls == 1
    details = passkit.redeem_bodies[0]["redemptionDetails"]
    assert details["redemptionReference"] == "Paris Opéra (paris) · store code"
    assert details["metaData"]["verifiedBy"] == "store_code"


async def test_a_lockout_holds_across_two_instances_and_ends_after_its_period(
    staff_settings: Callable[..., Settings], passkit: PassKitDouble, redis: Redis
) -> None:
    """3 wrong codes across two replicas lock the coupon, even for the right PIN, for 1 s."""
    passkit.add("member-1")
    settings = staff_settings(staff_max_failures=3, staff_lockout_seconds=1)
    async with running(create_app(settings)) as one, running(create_app(settings)) as two:
        wrong = [
            await client.post(API, json=LINK | {"staffCode": "000000"})
            for client in (one, two, one)
        ]
        right = await two.post(API, json=LINK | {"staffCode": PIN})
        assert [answer.status_code for answer in wrong] == [403, 403, 429]
        assert [answer.json().get("triesLeft") for answer in wrong[:2]] == [2, 1]
        assert wrong[2].json()["outcome"] == "verification_locked"
        assert wrong[2].headers["retry-after"] == "1"
        assert right.status_code == 429
        assert passkit.redeem_calls == 0
        # Waiting out the lockout period is the behaviour under test.
        await asyncio.sleep(1.05)
        later = await two.post(API, json=LINK | {"staffCode": PIN})
    assert later.status_code == 200
    assert passkit.redeem_calls == 1


async def test_one_client_is_locked_out_across_coupons(
    staff_settings: Callable[..., Settings], passkit: PassKitDouble, redis: Redis
) -> None:
    """Per client IP: three wrong codes for three coupons, and the fourth coupon is refused."""
    settings = staff_settings(staff_max_failures_per_ip=3)
    async with running(create_app(settings)) as client:
        statuses = []
        for n in range(4):
            passkit.add(f"member-{n}")
            link = {"externalId": f"member-{n}", "campaignId": "camp-1"}
            statuses.append(
                (await client.post(API, json=link | {"staffCode": "0000000"})).status_code
            )
    assert statuses == [403, 403, 429, 429]


async def test_the_addresses_of_one_ipv6_64_share_one_lockout(
    staff_settings: Callable[..., Settings], passkit: PassKitDouble, redis: Redis
) -> None:
    """Per client network: each wrong code from another address of one /64 counts the same."""
    settings = staff_settings(staff_max_failures_per_ip=3)
    hosts = [f"2001:db8:1:2::{n + 1:x}" for n in range(4)]
    async with running_from(create_app(settings), *hosts) as clients:
        statuses = []
        for n, client in enumerate(clients):
            passkit.add(f"member-{n}")
            link = {"externalId": f"member-{n}", "campaignId": "camp-1"}
            statuses.append(
                (await client.post(API, json=link | {"staffCode": "0000000"})).status_code
            )
    assert statuses == [403, 403, 429, 429]


async def test_a_locked_out_member_sees_how_long_to_wait(
    staff_settings: Callable[..., Settings], passkit: PassKitDouble, redis: Redis
) -> None:
    """A page with the wait in words in the member's language, 429 and Retry-After."""
    async with running(create_app(staff_settings(staff_max_failures=1))) as client:
        page = await confirm_page(client, passkit)
        answer = await client.post("/redeem", data=form_of(page) | {"staffCode": "000000"})
        german = await client.post("/redeem", data=form_of(page) | {"staffCode": PIN, "lang": "de"})
    assert answer.status_code == 429
    assert answer.headers["retry-after"] == "900"
    assert "No staff code can be tried here for 15 minutes." in answer.text
    assert "15 Minuten" in german.text
    assert_valid_html5(answer)


async def test_a_campaign_may_require_what_the_deployment_does_not(
    staff_settings: Callable[..., Settings], passkit: PassKitDouble, redis: Redis
) -> None:
    """Off for the deployment, required for camp-vip in the staff file, and the reverse."""
    settings = staff_settings({"camp-vip": "required"}, staff_verification="off")
    reverse = staff_settings({"camp-1": "off"}, staff_verification="required")
    passkit.add("member-1")
    passkit.add("member-1", "camp-vip")
    async with running(create_app(settings)) as client:
        plain = await client.post(API, json=LINK)
        vip = await client.post(API, json={"externalId": "member-1", "campaignId": "camp-vip"})
    assert (plain.status_code, vip.status_code) == (200, 403)
    passkit.add("member-2")
    async with running(create_app(reverse)) as client:
        assert (await client.post(API, json=LINK | {"externalId": "member-2"})).status_code == 200


async def test_instant_mode_shows_the_form_when_a_code_is_required(
    staff_settings: Callable[..., Settings], passkit: PassKitDouble, redis: Redis
) -> None:
    """A GET cannot carry a code: the confirm page asks for it instead of redeeming."""
    async with running(create_app(staff_settings(redeem_mode="instant"))) as client:
        page = await confirm_page(client, passkit)
    assert 'name="staffCode"' in page.text
    assert form_of(page)["token"]
    assert passkit.redeem_calls == 0


async def test_instant_mode_still_redeems_at_once_when_a_code_is_optional(
    staff_settings: Callable[..., Settings], passkit: PassKitDouble, redis: Redis
) -> None:
    """Optional asks nothing of a member who opens the link: one tap, unverified."""
    settings = staff_settings(redeem_mode="instant", staff_verification="optional")
    async with running(create_app(settings)) as client:
        passkit.add("member-1")
        opened = await client.get("/redeem", params=LINK)
    assert opened.status_code == 303
    assert passkit.redeem_calls == 1


async def test_pins_never_appear_in_logs_or_pages(
    staff_settings: Callable[..., Settings],
    passkit: PassKitDouble,
    redis: Redis,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Wrong and right PINs, pages and API: the logs name the store and employee, never a PIN."""
    async with running(create_app(staff_settings())) as client:
        page = await confirm_page(client, passkit)
        answers = [
            page,
            await client.post("/redeem", data=form_of(page) | {"staffCode": OTHER_PIN[::-1]}),
            await client.post("/redeem", data=form_of(page) | {"staffCode": PIN}),
        ]
        answers.append(await client.get(answers[-1].headers["location"]))
        passkit.add("member-2")
        other = {**LINK, "externalId": "member-2", "staffCode": OTHER_PIN}
        answers.append(await client.post(API, json=other))
    logs = capsys.readouterr().err
    lines = [json.loads(line) for line in logs.splitlines() if line.startswith("{")]
    redeemed = [line for line in lines if line["method"] == "POST" and line["status"] < 400]
    assert [(line["staff_store"], line["staff_employee"]) for line in redeemed] == [
        ("paris", "ana"),
        ("lyon", "ben"),
    ]
    assert any(line.get("verification") == "failed" for line in lines)
    for secret in (PIN, OTHER_PIN, OTHER_PIN[::-1]):
        assert secret not in logs
        assert not [answer.url for answer in answers if secret in answer.text]


async def test_a_bad_staff_file_stops_start_up_naming_the_file(
    make_settings: Callable[..., Settings], tmp_path: Path, redis: Redis
) -> None:
    """The lifespan refuses to start; the message names the file and the place of the problem."""
    path = tmp_path / "staff.toml"
    path.write_text('[stores.paris.employees.ana]\npin = "908190"\n')
    settings = make_settings(staff_verification="required", staff_file=str(path))
    with pytest.raises(StaffFileError) as stopped:
        async with running(create_app(settings)):
            pass
    message = str(stopped.value)
    assert str(path) in message
    assert "stores.paris.employees.ana: holds a PIN in clear" in message
    assert "908190" not in message


async def test_with_location_capture_the_page_offers_it_and_the_position_goes_upstream(
    make_settings: Callable[..., Settings], passkit: PassKitDouble, redis: Redis
) -> None:
    """The script and hidden fields are there; lat/lon go upstream rounded to 4 decimals."""
    async with running(create_app(make_settings(capture_location=True))) as client:
        page = await confirm_page(client, passkit)
        position = {"lat": "48.870812345", "lon": "2.331712345"}
        answer = await client.post("/redeem", data=form_of(page) | position)
    assert '<script src="/static/location.js?v=' in page.text
    assert '<input type="hidden" name="lat" value="" id="lat">' in page.text
    assert '<div class="locate" id="locate" hidden>' in page.text  # shown by the script only
    assert answer.status_code == 303
    details = passkit.redeem_bodies[0]["redemptionDetails"]
    assert (details["lat"], details["lon"]) == (48.8708, 2.3317)


async def test_without_a_position_the_member_still_redeems(
    make_settings: Callable[..., Settings], passkit: PassKitDouble, redis: Redis
) -> None:
    """Declined, unavailable or no JavaScript: empty fields, and no lat/lon upstream."""
    async with running(create_app(make_settings(capture_location=True))) as client:
        page = await confirm_page(client, passkit)
        answer = await client.post("/redeem", data=form_of(page) | {"lat": "", "lon": ""})
    assert answer.status_code == 303
    assert "lat" not in passkit.redeem_bodies[0]["redemptionDetails"]


@pytest.mark.parametrize(
    "position",
    [
        {"lat": "91", "lon": "2"},
        {"lat": "48", "lon": "-180.5"},
        {"lat": "nan", "lon": "2"},
        {"lat": "48.87", "lon": ""},
        {"lat": "north", "lon": "east"},
    ],
)
async def test_a_position_out_of_range_is_refused_before_anything_happens(
    make_settings: Callable[..., Settings],
    passkit: PassKitDouble,
    redis: Redis,
    position: dict[str, str],
) -> None:
    """Only what a browser can measure is sent upstream; anything else is a 400."""
    async with running(create_app(make_settings(capture_location=True))) as client:
        page = await confirm_page(client, passkit)
        answer = await client.post("/redeem", data=form_of(page) | position)
    assert answer.status_code == 400
    assert passkit.redeem_calls == 0


async def test_without_location_capture_a_position_is_ignored(
    make_settings: Callable[..., Settings], passkit: PassKitDouble, redis: Redis
) -> None:
    """Off (the default): no script, and lat/lon sent anyway never go upstream."""
    async with running(create_app(make_settings())) as client:
        page = await confirm_page(client, passkit)
        answer = await client.post("/redeem", data=form_of(page) | {"lat": "91", "lon": "x"})
    assert "location.js" not in page.text
    assert answer.status_code == 303
    assert "lat" not in passkit.redeem_bodies[0]["redemptionDetails"]


def _without_request_id(answer: httpx.Response) -> tuple[int, str]:
    """An answer as an attacker compares them: status and body, minus what differs anyway."""
    body = answer.text.replace(answer.headers.get("x-request-id", "-"), "")
    return answer.status_code, body


@pytest.mark.parametrize("policy", ["optional", "required"])
async def test_a_post_for_an_unsigned_link_is_an_unknown_coupon_whatever_the_code(
    staff_settings: Callable[..., Settings], passkit: PassKitDouble, redis: Redis, policy: str
) -> None:
    """With signed links on, a guessed, unsigned link with any code shows no confirm page, no
    member's name and no fresh token: exactly the page of a coupon that does not exist."""
    passkit.add("member-1", display_name="Alex Member")
    settings = staff_settings(staff_verification=policy, link_keys="k1:" + "s" * 32)
    form = LINK | {"token": "A" * 22, "staffCode": "000000"}
    async with running(create_app(settings)) as client:
        answer = await client.post("/redeem", data=form)
        unknown = await client.post("/redeem", data=form | {"externalId": "nobody"})
    assert answer.status_code == 404
    assert "Alex Member" not in answer.text
    assert 'name="token"' not in answer.text
    assert _without_request_id(answer) == _without_request_id(unknown)
    assert passkit.calls == 0


async def test_a_code_is_checked_only_for_a_coupon_that_can_be_redeemed(
    required: httpx.AsyncClient, passkit: PassKitDouble, redis: Redis
) -> None:
    """On a link with no coupon a right and a wrong code get the same answer, and no try is
    counted: codes cannot be guessed on made-up links."""
    right = await required.post(API, json=LINK | {"externalId": "made-up", "staffCode": PIN})
    wrong = await required.post(API, json=LINK | {"externalId": "made-up", "staffCode": "000000"})
    assert right.status_code == wrong.status_code == 404
    assert right.json() == wrong.json()
    page = {"token": "B" * 22, **LINK, "externalId": "made-up"}
    right_page = await required.post("/redeem", data=page | {"staffCode": PIN})
    wrong_page = await required.post("/redeem", data=page | {"staffCode": "000000"})
    assert _without_request_id(right_page) == _without_request_id(wrong_page)
    assert right_page.status_code == 403  # an unknown confirmation, as without any code
    counters = [str(key) for key in await redis.keys("rr:*")]
    assert not [key for key in counters if key.endswith(":v") or ":v:" in key]


async def test_a_code_for_a_used_coupon_is_not_checked(
    required: httpx.AsyncClient, passkit: PassKitDouble, redis: Redis
) -> None:
    """A coupon already redeemed answers with its state whatever code comes with it."""
    passkit.add("member-1", status="REDEEMED", redeemed_at=datetime.now(UTC))
    right = await required.post(API, json=LINK | {"staffCode": PIN})
    wrong = await required.post(API, json=LINK | {"staffCode": "000000"})
    assert right.status_code == wrong.status_code == 409
    assert right.json() == wrong.json()
    assert passkit.redeem_calls == 0
