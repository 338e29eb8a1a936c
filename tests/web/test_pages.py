"""The member's flow over HTTP: GET shows, POST redeems, the receipt reloads safely."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
from resolver_sandbox.embedded import EmbeddedRedis

from resolver.app import create_app
from resolver.domain.coupons import Link
from resolver.domain.names import Names
from resolver.storage.claims import RedisClaims
from tests.conftest import SECRET_KEY, running
from tests.support.pages import assert_valid_html5, form_of

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable

    import httpx
    from redis.asyncio import Redis

    from resolver.settings import Settings
    from tests.support.passkit import PassKitDouble

LINK = {"externalId": "member-1", "campaignId": "camp-1"}


async def test_an_unredeemed_coupon_shows_the_offer_and_a_redeem_button(
    client: httpx.AsyncClient, passkit: PassKitDouble
) -> None:
    """GET /redeem renders the offer and a form POSTing the link and a one-time token."""
    passkit.add("member-1", display_name="Alex Member")
    page = await client.get("/redeem", params=LINK)
    assert page.status_code == 200
    assert "Free coffee" in page.text
    assert "Alex Member" in page.text
    assert '<form method="post" action="/redeem">' in page.text
    assert "Redeem now" in page.text
    fields = form_of(page)
    assert fields["externalId"] == "member-1"
    assert fields["campaignId"] == "camp-1"
    assert len(fields["token"]) >= 16
    assert passkit.redeem_calls == 0


async def test_an_already_redeemed_coupon_says_when(
    client: httpx.AsyncClient, passkit: PassKitDouble
) -> None:
    """A REDEEMED coupon shows 'already redeemed' with the date and time, in the offer's zone."""
    passkit.add("member-1", status="REDEEMED", redeemed_at=datetime(2026, 3, 1, 9, 30, tzinfo=UTC))
    page = await client.get("/redeem", params=LINK)
    assert page.status_code == 200
    assert "already redeemed" in page.text
    assert "Sunday, March 1, 2026" in page.text
    assert ">10:30:00\u202fAM</time>" in page.text  # Europe/Paris, in Babel's English format
    assert '<time datetime="2026-03-01T10:30:00+01:00">' in page.text
    assert "<form" not in page.text


@pytest.mark.parametrize("why", ["coupon expiry", "offer ended"])
async def test_an_expired_coupon_says_so(
    client: httpx.AsyncClient, passkit: PassKitDouble, why: str
) -> None:
    """The coupon's expiry date and the end of the offer's redemption window read as expired."""
    now = datetime.now(UTC)
    if why == "coupon expiry":
        passkit.add_expired("member-1")
    else:
        windows: dict[str, dict[str, Any]] = {
            "offer ended": {"redemptionSettings": {"redemptionEndDate": _z(now - timedelta(1))}}
        }
        passkit.add_offer("offer-2", **windows[why])
        passkit.add("member-1", offer_id="offer-2")
    page = await client.get("/redeem", params=LINK)
    assert page.status_code == 410
    assert "This coupon has expired" in page.text
    assert "<form" not in page.text


async def test_no_coupon_says_no_active_coupon(client: httpx.AsyncClient) -> None:
    """A 404 from PassKit is the 'no active coupon' page."""
    page = await client.get("/redeem", params=LINK)
    assert page.status_code == 404
    assert "No active coupon" in page.text


async def test_redeem_now_redirects_to_a_receipt_that_reloads_without_redeeming(
    client: httpx.AsyncClient, passkit: PassKitDouble
) -> None:
    """POST answers 303 to /redeemed/{receipt}; reloading it never calls PassKit again."""
    passkit.add("member-1")
    page = await client.get("/redeem", params=LINK)
    answer = await client.post("/redeem", data=form_of(page))
    assert answer.status_code == 303
    receipt = answer.headers["location"]
    assert re.fullmatch(r"/redeemed/[a-z2-7]{16}-[a-z2-7]{16}", receipt)
    for _ in range(3):
        shown = await client.get(receipt)
        assert shown.status_code == 200
        assert "Redeemed" in shown.text
        assert "Free coffee" in shown.text
    assert passkit.redeem_calls == 1


async def test_a_used_token_is_refused_a_new_redemption(
    client: httpx.AsyncClient, passkit: PassKitDouble
) -> None:
    """Re-submitting a used form shows the first receipt and never calls PassKit again."""
    passkit.add("member-1")
    fields = form_of(await client.get("/redeem", params=LINK))
    first = await client.post("/redeem", data=fields)
    passkit.add("member-1")  # even a fresh coupon under the same id is not redeemed by it
    again = await client.post("/redeem", data=fields)
    assert again.status_code == 303
    assert again.headers["location"] == first.headers["location"]
    assert passkit.redeem_calls == 1


async def test_a_used_token_whose_attempt_left_no_result_gets_a_clear_page(
    client: httpx.AsyncClient, passkit: PassKitDouble
) -> None:
    """After a released attempt, the spent token cannot try again: open the link again."""
    passkit.add("member-1")
    fields = form_of(await client.get("/redeem", params=LINK))
    passkit.redeem_fault = "connect_error"
    await client.post("/redeem", data=fields)
    passkit.redeem_fault = None
    again = await client.post("/redeem", data=fields)
    assert again.status_code == 403
    assert "already used" in again.text
    assert passkit.redeem_calls == 1


@pytest.mark.parametrize(
    ("token", "message"),
    [(None, "missing"), ("", "missing"), ("forged-but-well-formed-x", "expired"), ("<x>", "valid")],
)
async def test_a_missing_or_forged_token_gets_a_clear_page_and_no_upstream_call(
    client: httpx.AsyncClient, passkit: PassKitDouble, token: str | None, message: str
) -> None:
    """No valid token, no redemption, and nothing sent to PassKit."""
    passkit.add("member-1")
    data = dict(LINK) | ({"token": token} if token is not None else {})
    answer = await client.post("/redeem", data=data)
    assert answer.status_code == 403
    assert message in answer.text
    assert passkit.calls == 0


async def test_get_and_head_never_redeem(client: httpx.AsyncClient, passkit: PassKitDouble) -> None:
    """Any number of GETs and HEADs leave the coupon unredeemed."""
    passkit.add("member-1")
    for _ in range(3):
        await client.get("/redeem", params=LINK)
        head = await client.head("/redeem", params=LINK)
        assert head.status_code == 200
    assert passkit.redeem_calls == 0
    assert passkit.coupon("member-1")["status"] == "UNREDEEMED"


async def test_head_touches_nothing_upstream(
    client: httpx.AsyncClient, passkit: PassKitDouble
) -> None:
    """HEAD is what mail scanners send first: it gets the neutral page without any call."""
    passkit.add("member-1")
    await client.head("/redeem", params=LINK)
    assert passkit.calls == 0


@pytest.fixture
async def instant_client(
    make_settings: Callable[..., Settings], passkit: PassKitDouble, redis: Redis
) -> AsyncIterator[httpx.AsyncClient]:
    async with running(create_app(make_settings(redeem_mode="instant"))) as client:
        yield client


async def test_instant_mode_redeems_on_get_and_lands_on_the_receipt(
    instant_client: httpx.AsyncClient, passkit: PassKitDouble
) -> None:
    """The seed's one-tap behaviour, opted into: GET redeems and redirects to the receipt."""
    passkit.add("member-1")
    answer = await instant_client.get("/redeem", params=LINK)
    assert answer.status_code == 303
    shown = await instant_client.get(answer.headers["location"])
    assert "Redeemed" in shown.text
    assert passkit.redeem_calls == 1


@pytest.mark.parametrize(
    "headers",
    [
        {"user-agent": "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)"},
        {"user-agent": "WhatsApp/2.23.20.0"},
        {"user-agent": "facebookexternalhit/1.1 Facebot Twitterbot/1.0"},
        {"user-agent": "Mozilla/5.0 (compatible; BingPreview/1.0b)"},
        {"user-agent": ""},
        {"sec-purpose": "prefetch"},
        {"purpose": "prefetch"},
    ],
)
async def test_instant_mode_never_redeems_for_previews_scanners_or_prefetch(
    instant_client: httpx.AsyncClient, passkit: PassKitDouble, headers: dict[str, str]
) -> None:
    """Link unfurlers, scanners and prefetches get the neutral page, with no upstream call."""
    passkit.add("member-1")
    page = await instant_client.get("/redeem", params=LINK, headers=headers)
    assert page.status_code == 200
    assert "Open this link on your phone" in page.text
    assert passkit.calls == 0


async def test_instant_mode_head_never_redeems(
    instant_client: httpx.AsyncClient, passkit: PassKitDouble
) -> None:
    """Even in instant mode a HEAD only gets headers."""
    passkit.add("member-1")
    await instant_client.head("/redeem", params=LINK)
    assert passkit.calls == 0


async def test_concurrent_posts_of_one_confirmation_redeem_once_and_agree(
    client: httpx.AsyncClient, passkit: PassKitDouble
) -> None:
    """100 simultaneous submissions: one upstream redeem, every answer the same receipt."""
    passkit.add("member-1")
    passkit.latency = 0.05
    fields = form_of(await client.get("/redeem", params=LINK))
    answers = await asyncio.gather(*(client.post("/redeem", data=fields) for _ in range(100)))
    assert passkit.redeem_calls == 1
    assert {answer.status_code for answer in answers} == {303}
    assert len({answer.headers["location"] for answer in answers}) == 1


async def test_concurrent_posts_from_separate_confirm_pages_redeem_once(
    client: httpx.AsyncClient, passkit: PassKitDouble
) -> None:
    """100 taps on 100 freshly opened pages of one coupon: one redeem and one success screen;
    every other page says the coupon was already redeemed, through this service."""
    passkit.add("member-1")
    passkit.latency = 0.05
    forms = [form_of(await client.get("/redeem", params=LINK)) for _ in range(100)]
    answers = await asyncio.gather(*(client.post("/redeem", data=form) for form in forms))
    assert passkit.redeem_calls == 1
    successes = [answer for answer in answers if answer.status_code == 303]
    assert len(successes) == 1
    shown = await client.get(successes[0].headers["location"])
    assert "<h1>Redeemed</h1>" in shown.text
    others = [answer for answer in answers if answer.status_code != 303]
    assert all("<h1>Already redeemed</h1>" in page.text for page in others)
    assert all("It was redeemed through this service." in page.text for page in others)


async def test_an_upstream_outage_on_get_shows_a_try_again_page(
    client: httpx.AsyncClient, passkit: PassKitDouble
) -> None:
    """PassKit unreachable while reading: 503 with a retry link, not a crash."""
    passkit.lookup_fault = "connect_error"
    page = await client.get("/redeem", params=LINK)
    assert page.status_code == 503
    assert "Temporarily unavailable" in page.text
    assert 'href="/redeem?externalId=member-1&amp;campaignId=camp-1"' in page.text


async def test_an_unknown_receipt_is_not_found(client: httpx.AsyncClient) -> None:
    """Receipts are not guessable and unknown ones say so."""
    for path in ("/redeemed/aaaaaaaaaaaaaaaa-bbbbbbbbbbbbbbbb", "/redeemed/../../etc"):
        page = await client.get(path)
        assert page.status_code == 404


@pytest.mark.parametrize(
    "params",
    [
        {"campaignId": "camp-1"},
        {"externalId": "", "campaignId": "camp-1"},
        {"externalId": "x" * 129, "campaignId": "camp-1"},
        {"externalId": "a b", "campaignId": "camp-1"},
        {"externalId": "<script>", "campaignId": "camp-1"},
    ],
)
async def test_bad_links_get_a_clear_400_page_and_no_upstream_call(
    client: httpx.AsyncClient, passkit: PassKitDouble, params: dict[str, str]
) -> None:
    """Every malformed link is refused before PassKit is asked anything."""
    page = await client.get("/redeem", params=params)
    assert page.status_code == 400
    assert "This link cannot be used" in page.text
    assert passkit.calls == 0


async def test_pages_are_valid_html5_with_the_required_headers(
    client: httpx.AsyncClient, passkit: PassKitDouble
) -> None:
    """Every state's page parses as HTML5 and is sent no-store, no-referrer."""
    passkit.add("member-1")
    passkit.add("member-2", status="REDEEMED", redeemed_at=datetime.now(UTC))
    passkit.add_expired("member-3")
    pages = [
        await client.get("/redeem", params={"externalId": ext, "campaignId": "camp-1"})
        for ext in ("member-1", "member-2", "member-3", "member-4", "bad id")
    ]
    answer = await client.post("/redeem", data=form_of(pages[0]))
    pages.append(await client.get(answer.headers["location"]))
    pages.append(await client.get("/redeem", params=LINK, headers={"user-agent": "curl/8"}))
    for page in pages:
        assert_valid_html5(page)
        assert page.headers["cache-control"] == "no-store"
        assert page.headers["referrer-policy"] == "no-referrer"
        assert page.headers["content-type"] == "text/html; charset=utf-8"


async def test_every_value_is_escaped(client: httpx.AsyncClient, passkit: PassKitDouble) -> None:
    """Offer texts and names from the upstream cannot inject markup."""
    passkit.add_offer("offer-x", offerTitle="<script>alert(1)</script>", offerDetails='"><b>x')
    passkit.add("member-1", offer_id="offer-x", display_name="<img src=x onerror=alert(1)>")
    page = await client.get("/redeem", params=LINK)
    assert "<script>alert(1)" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert "<img src=x" not in page.text
    assert "<b>x" not in page.text


async def test_unsupported_methods_and_content_types_are_refused(
    client: httpx.AsyncClient, passkit: PassKitDouble
) -> None:
    """PUT gets 405; a JSON or oversized confirm body gets 415 or 413; none reach PassKit."""
    assert (await client.put("/redeem", params=LINK)).status_code == 405
    json_post = await client.post("/redeem", json=LINK)
    assert json_post.status_code == 415
    big = await client.post(
        "/redeem",
        content=b"a=" + b"x" * 10_000,
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert big.status_code == 413
    assert passkit.calls == 0


def _z(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


async def test_a_page_confirmed_after_an_api_redemption_is_already_redeemed(
    client: httpx.AsyncClient, passkit: PassKitDouble
) -> None:
    """Redeemed through the API, then confirmed on a page opened before: that page learns the
    coupon was already redeemed here, never a success screen of its own."""
    passkit.add("member-1")
    fields = form_of(await client.get("/redeem", params=LINK))
    assert (await client.post("/api/v1/redeem", params=LINK)).status_code == 200
    shown = await client.post("/redeem", data=fields)
    assert shown.status_code == 200
    assert "<h1>Already redeemed</h1>" in shown.text
    assert "It was redeemed through this service." in shown.text
    assert passkit.redeem_calls == 1


async def test_a_form_token_never_redeems_the_coupon_issued_after_it(
    client: httpx.AsyncClient, passkit: PassKitDouble
) -> None:
    """The member confirmed coupon A; A expired and B was issued under the same link: nothing
    is redeemed, and the member is sent back to the link, which shows B to confirm."""
    old = passkit.add("member-1", offer_id="offer-old")
    passkit.add_offer("offer-old", offerTitle="Old offer")
    passkit.add_offer("offer-new", offerTitle="New offer")
    fields = form_of(await client.get("/redeem", params=LINK))
    old["expiryDate"] = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    new = passkit.add("member-1", offer_id="offer-new")
    answer = await client.post("/redeem", data=fields)
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/redeem?")
    page = await client.get(answer.headers["location"])
    assert "New offer" in page.text
    assert 'name="token"' in page.text
    assert (old["status"], new["status"]) == ("UNREDEEMED", "UNREDEEMED")


async def test_a_receipt_whose_owner_died_stops_saying_in_progress(
    client: httpx.AsyncClient, passkit: PassKitDouble, redis: Redis
) -> None:
    """A worker killed mid-redeem leaves its claim: once the lease has passed, the receipt page
    reads the coupon back and shows how it ended instead of "Redeeming…" for many minutes."""
    coupon = passkit.add("member-1")
    store = RedisClaims(redis)
    key = Names(SECRET_KEY.encode()).key("passkit", Link("camp-1", "member-1"))
    nonce = "n" * 16
    await store.claim(
        key, token="t", nonce=nonce, lease=0.0, hold=60, link=Link("camp-1", "member-1")
    )
    coupon["status"] = "REDEEMED"  # the dead worker's redeem had been applied
    coupon["redemptionDetails"] = {"redemptionDate": datetime.now(UTC).isoformat()}
    page = await client.get(f"/redeemed/{key}-{nonce}")
    assert page.status_code == 200
    assert "Redeeming" not in page.text
    assert "<h1>Redeemed</h1>" in page.text


async def test_a_receipt_whose_owner_died_unapplied_says_not_confirmed(
    client: httpx.AsyncClient, passkit: PassKitDouble, redis: Redis
) -> None:
    """The dead worker's redeem never landed: the page says it could not be confirmed and
    offers to check again, never redeeming from a receipt page."""
    passkit.add("member-1")
    store = RedisClaims(redis)
    key = Names(SECRET_KEY.encode()).key("passkit", Link("camp-1", "member-1"))
    await store.claim(
        key, token="t", nonce="n" * 16, lease=0.0, hold=60, link=Link("camp-1", "member-1")
    )
    page = await client.get(f"/redeemed/{key}-{'n' * 16}")
    assert "<h1>Not confirmed</h1>" in page.text
    assert "Check again" in page.text
    assert passkit.redeem_calls == 0


async def test_redis_failing_after_passkit_redeemed_still_shows_the_success(
    make_settings: Callable[..., Settings], passkit: PassKitDouble
) -> None:
    """Redis stops between PassKit's 200 and the settle: the member sees the success screen
    (rendered from what is in hand), not "try again"."""
    passkit.add("member-1")
    with EmbeddedRedis() as own:
        async with running(create_app(make_settings(redis_url=own.url))) as client:
            fields = form_of(await client.get("/redeem", params=LINK))
            answer = passkit.router.routes["redeem"].side_effect

            async def then_redis_stops(request: httpx.Request) -> httpx.Response:
                try:
                    return await answer(request)  # type: ignore[misc, operator, no-any-return]
                finally:
                    own.stop()

            passkit.router.routes["redeem"].side_effect = then_redis_stops
            shown = await client.post("/redeem", data=fields)
    assert shown.status_code == 200
    assert "<h1>Redeemed</h1>" in shown.text
