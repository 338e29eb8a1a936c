"""The JSON API: every outcome and its status, every way to send a link, bad input, auth."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest

from resolver.app import create_app
from tests.conftest import running
from tests.support.answers import FIELDS

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable

    import httpx
    from redis.asyncio import Redis

    from resolver.settings import Settings
    from tests.support.passkit import PassKitDouble

URL = "/api/v1/redeem"
JSON = {"content-type": "application/json"}
LINK = {"externalId": "member-1", "campaignId": "camp-1"}


async def test_a_redemption_answers_200_with_the_documented_fields(
    client: httpx.AsyncClient, passkit: PassKitDouble
) -> None:
    """`redeemed` is 200 with the coupon id and an RFC 3339 redemption time."""
    coupon = passkit.add("member-1")
    answer = await client.post(URL, params=LINK)
    assert answer.status_code == 200
    body = answer.json()
    assert set(body) == FIELDS
    assert body["outcome"] == "redeemed"
    assert body["couponId"] == coupon["id"]
    assert body["campaignId"] == "camp-1"
    assert body["externalId"] == "member-1"
    assert body["replayed"] is False
    redeemed_at = datetime.fromisoformat(body["redeemedAt"])
    assert body["redeemedAt"].endswith("Z")
    assert abs(datetime.now(UTC) - redeemed_at) < timedelta(seconds=5)


async def test_a_retry_with_the_same_idempotency_key_is_a_replayed_success(
    client: httpx.AsyncClient, passkit: PassKitDouble
) -> None:
    """A caller retrying after a lost answer learns it succeeded, not that it was used."""
    passkit.add("member-1")
    key = {"idempotency-key": "till-3:sale-8812"}
    first = (await client.post(URL, params=LINK, headers=key)).json()
    answer = await client.post(URL, params=LINK, headers=key)
    assert answer.status_code == 200
    assert answer.json() == first | {"replayed": True}
    assert passkit.redeem_calls == 1


async def test_a_second_request_for_a_redeemed_coupon_is_a_conflict(
    client: httpx.AsyncClient, passkit: PassKitDouble
) -> None:
    """Without the first request's key, a repeat is 409 already_redeemed, by this service:
    a scenario that filters on "redeemed" never serves twice."""
    passkit.add("member-1")
    first = (await client.post(URL, params=LINK, headers={"idempotency-key": "a"})).json()
    for headers in ({}, {"idempotency-key": "b"}):
        answer = await client.post(URL, params=LINK, headers=headers)
        assert answer.status_code == 409
        body = answer.json()
        assert (body["outcome"], body["redeemedHere"]) == ("already_redeemed", True)
        assert body["redeemedAt"] == first["redeemedAt"]
    assert passkit.redeem_calls == 1


async def test_an_already_redeemed_coupon_says_whether_this_service_redeemed_it(
    client: httpx.AsyncClient, passkit: PassKitDouble
) -> None:
    """PassKit records what redeemed a coupon: this service's own is told apart."""
    now = datetime.now(UTC)
    ours = passkit.add("member-1", status="REDEEMED", redeemed_at=now)
    ours["redemptionDetails"]["redemptionSource"] = "resolver/0.0.9"
    theirs = passkit.add("member-2", status="REDEEMED", redeemed_at=now)
    theirs["redemptionDetails"]["redemptionSource"] = "PassKit scanner"
    answer = (await client.post(URL, params=LINK)).json()
    assert (answer["outcome"], answer["redeemedHere"]) == ("already_redeemed", True)
    other = (await client.post(URL, params=LINK | {"externalId": "member-2"})).json()
    assert (other["outcome"], other["redeemedHere"]) == ("already_redeemed", None)


@pytest.mark.parametrize("key", [b"", b"x" * 256, b"caf\xe9"])
async def test_a_malformed_idempotency_key_is_refused(
    client: httpx.AsyncClient, passkit: PassKitDouble, key: bytes
) -> None:
    """Empty, too long or not printable ASCII: 400, nothing sent upstream."""
    passkit.add("member-1")
    answer = await client.post(URL, params=LINK, headers={b"idempotency-key": key})
    assert answer.status_code == 400
    assert passkit.calls == 0


@pytest.mark.parametrize(
    ("setup", "outcome", "status"),
    [
        ("redeemed", "already_redeemed", 409),
        ("missing", "no_active_coupon", 404),
        ("expired", "expired", 410),
    ],
)
async def test_definitive_outcomes_map_to_their_status(
    client: httpx.AsyncClient, passkit: PassKitDouble, setup: str, outcome: str, status: int
) -> None:
    """already_redeemed 409 · no_active_coupon 404 · expired 410."""
    if setup == "redeemed":
        passkit.add("member-1", status="REDEEMED", redeemed_at=datetime.now(UTC) - timedelta(1))
    elif setup == "expired":
        passkit.add_expired("member-1")
    answer = await client.post(URL, params=LINK)
    assert answer.status_code == status
    assert answer.json()["outcome"] == outcome


@pytest.mark.parametrize(
    ("fault", "status", "outcome"),
    [
        ("timeout", 504, "unconfirmed"),
        ("connect_error", 503, "upstream_error"),
        ("error", 502, "unconfirmed"),
        ("unauthorized", 502, "upstream_error"),
    ],
)
async def test_upstream_failures_map_to_502_503_504(
    client: httpx.AsyncClient, passkit: PassKitDouble, fault: str, status: int, outcome: str
) -> None:
    """A bad answer is 502, an unreachable upstream 503, a timeout 504; whatever may have been
    applied is `unconfirmed` (the next request reads back), the rest `upstream_error`."""
    passkit.add("member-1")
    passkit.redeem_fault = fault  # type: ignore[assignment]
    answer = await client.post(URL, params=LINK)
    assert answer.status_code == status
    assert answer.json()["outcome"] == outcome


async def test_in_progress_is_409_with_retry_after(
    make_settings: Callable[..., Settings], passkit: PassKitDouble, redis: Redis
) -> None:
    """A duplicate that outwaits the coalescing bound is told to retry later."""
    passkit.add("member-1")
    passkit.latency = 0.5
    async with running(create_app(make_settings(coalesce_wait=0.05))) as client:
        first = asyncio.create_task(client.post(URL, params=LINK))
        await asyncio.sleep(0.1)
        second = await client.post(URL, params=LINK)
        assert second.status_code == 409
        assert second.json()["outcome"] == "in_progress"
        assert int(second.headers["retry-after"]) >= 1
        assert (await first).status_code == 200


@pytest.mark.parametrize(
    "send",
    [
        {"params": LINK},
        {"json": LINK},
        {"data": LINK},
        {"params": {"campaignId": "camp-1"}, "json": {"externalId": "member-1"}},
        {"json": LINK | {"other": 1}},
    ],
    ids=["query", "json", "form", "query+json", "json-with-extras"],
)
async def test_the_link_may_come_in_the_query_a_json_body_or_a_form(
    client: httpx.AsyncClient, passkit: PassKitDouble, send: dict[str, object]
) -> None:
    """Whatever a Make webhook accepted, this accepts."""
    passkit.add("member-1")
    answer = await client.post(URL, **send)  # type: ignore[arg-type]
    assert answer.status_code == 200, answer.text
    assert answer.json()["outcome"] == "redeemed"


@pytest.mark.parametrize(
    ("send", "status", "detail"),
    [
        ({"params": {"campaignId": "camp-1"}}, 400, "externalId is missing"),
        ({"params": {"externalId": "", "campaignId": "c"}}, 400, "externalId is empty"),
        ({"params": {"externalId": "x" * 129, "campaignId": "c"}}, 400, "longer than 128"),
        ({"params": {"externalId": "a/b", "campaignId": "c"}}, 400, "characters outside"),
        ({"params": {"externalId": "é", "campaignId": "c"}}, 400, "characters outside"),
        ({"json": {"externalId": 12.0, "campaignId": "c"}}, 400, "must be a string or an integer"),
        ({"json": {"externalId": True, "campaignId": "c"}}, 400, "must be a string or an integer"),
        (
            {"content": b'{"externalId": 1e999, "campaignId": "c"}', "headers": JSON},
            400,
            "must be a string or an integer",
        ),
        ({"json": {"externalId": 10**200, "campaignId": "c"}}, 400, "longer than 128"),
        ({"json": [1, 2]}, 400, "must be an object"),
        ({"content": b"{bad json", "headers": {"content-type": "application/json"}}, 400, "JSON"),
        ({"content": b"\xff\xfe", "headers": {"content-type": "application/json"}}, 400, "UTF-8"),
        ({"content": b"<x/>", "headers": {"content-type": "application/xml"}}, 415, "content"),
        (
            {"params": {"externalId": "a", "campaignId": "c"}, "json": {"externalId": "b"}},
            400,
            "differs",
        ),
        ({"content": b"x" * 9000, "headers": {"content-type": "application/json"}}, 413, "larger"),
        (
            {"content": b"[" * 1000 + b"]" * 1000, "headers": {"content-type": "application/json"}},
            400,
            "nested too deeply",
        ),
        (
            {
                "content": b'{"a":' * 1000 + b"1" + b"}" * 1000,
                "headers": {"content-type": "application/json"},
            },
            400,
            "nested too deeply",
        ),
    ],
)
async def test_bad_input_is_a_clear_4xx_without_an_upstream_call(
    client: httpx.AsyncClient,
    passkit: PassKitDouble,
    send: dict[str, object],
    status: int,
    detail: str,
) -> None:
    """invalid_request says what is wrong, and PassKit hears nothing."""
    answer = await client.post(URL, **send)  # type: ignore[arg-type]
    assert answer.status_code == status
    body = answer.json()
    assert body["outcome"] == "invalid_request"
    assert detail in body["detail"]
    assert passkit.calls == 0


@pytest.mark.parametrize(
    "raw_query",
    [
        b"externalId=%ZZ&campaignId=c",
        b"externalId=%E9&campaignId=c",
        b"externalId=a&externalId=b&campaignId=c",
        b"externalId=a%00b&campaignId=c",
    ],
    ids=["bad-escape", "invalid-utf8", "repeated", "nul"],
)
async def test_bad_query_encodings_are_refused(
    client: httpx.AsyncClient, passkit: PassKitDouble, raw_query: bytes
) -> None:
    """Malformed percent-encoding, invalid UTF-8 and repeated names are 400, not guessed at."""
    answer = await client.post(f"{URL}?{raw_query.decode()}")
    assert answer.status_code == 400
    assert passkit.calls == 0


async def test_a_declared_oversized_body_is_refused_before_it_is_read(
    client: httpx.AsyncClient, passkit: PassKitDouble
) -> None:
    """A Content-Length over the cap is 413 at once."""

    async def endless() -> AsyncIterator[bytes]:
        yield b"{"
        yield b" " * 100_000

    answer = await client.post(URL, content=endless(), headers={"content-type": "application/json"})
    assert answer.status_code == 413
    assert passkit.calls == 0


@pytest.mark.parametrize(
    ("declared", "status"),
    [("\N{SUPERSCRIPT TWO}", 400), ("9" * 5000, 413), ("0" * 5000 + "12", 400)],
    ids=["superscript-digit", "5000-digits", "leading-zeros"],
)
async def test_a_content_length_is_read_as_plain_digits_only(
    client: httpx.AsyncClient, passkit: PassKitDouble, declared: str, status: int
) -> None:
    """A Content-Length no parser would take (uvicorn refuses these itself) is never a 500."""
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", declared.encode("latin-1")),
    ]
    answer = await client.post(URL, content=b"{}", headers=headers)
    assert answer.status_code == status, answer.text
    assert answer.json()["outcome"] == "invalid_request"
    assert passkit.calls == 0


async def test_get_does_not_redeem_outside_instant_mode(
    client: httpx.AsyncClient, passkit: PassKitDouble
) -> None:
    """A GET never redeems unless the operator opted into instant mode: 405, use POST."""
    passkit.add("member-1")
    answer = await client.get(URL, params=LINK)
    assert answer.status_code == 405
    assert answer.headers["allow"] == "POST"
    assert passkit.calls == 0


@pytest.fixture
async def instant(
    make_settings: Callable[..., Settings], passkit: PassKitDouble, redis: Redis
) -> AsyncIterator[httpx.AsyncClient]:
    async with running(create_app(make_settings(redeem_mode="instant"))) as client:
        yield client


async def test_get_redeems_in_instant_mode_like_a_make_webhook(
    instant: httpx.AsyncClient, passkit: PassKitDouble
) -> None:
    """With instant mode, a pass link may point straight at the API."""
    passkit.add("member-1")
    answer = await instant.get(URL, params=LINK)
    assert answer.status_code == 200
    assert answer.json()["outcome"] == "redeemed"


@pytest.mark.parametrize("headers", [{"user-agent": "Slackbot 1.0"}, {"sec-purpose": "prefetch"}])
async def test_head_and_scanners_never_redeem_through_the_api(
    instant: httpx.AsyncClient, passkit: PassKitDouble, headers: dict[str, str]
) -> None:
    """Even in instant mode, HEAD, previews and prefetches are refused."""
    passkit.add("member-1")
    assert (await instant.head(URL, params=LINK)).status_code == 405
    assert (await instant.get(URL, params=LINK, headers=headers)).status_code == 405
    assert passkit.calls == 0


async def test_concurrent_json_calls_reach_the_upstream_once_and_agree(
    client: httpx.AsyncClient, passkit: PassKitDouble
) -> None:
    """100 simultaneous calls for one coupon: one redeem call, one 200, and 99 409s naming
    this service's redemption."""
    passkit.add("member-1")
    passkit.latency = 0.05
    answers = await asyncio.gather(*(client.post(URL, json=LINK) for _ in range(100)))
    assert passkit.redeem_calls == 1
    statuses = [answer.status_code for answer in answers]
    assert (statuses.count(200), statuses.count(409)) == (1, 99)
    assert len({answer.json()["couponId"] for answer in answers}) == 1


@pytest.fixture
async def guarded(
    make_settings: Callable[..., Settings], passkit: PassKitDouble, redis: Redis
) -> AsyncIterator[httpx.AsyncClient]:
    settings = make_settings(api_token="new-token,old-token")
    async with running(create_app(settings)) as client:
        yield client


@pytest.mark.parametrize(
    "headers",
    [{}, {"authorization": "Bearer wrong"}, {"authorization": "new-token"}, {"x-make-apikey": ""}],
)
async def test_a_configured_api_token_is_required(
    guarded: httpx.AsyncClient, passkit: PassKitDouble, headers: dict[str, str]
) -> None:
    """Without a valid token: 401 `unauthorized`, WWW-Authenticate, no upstream call."""
    passkit.add("member-1")
    answer = await guarded.post(URL, params=LINK, headers=headers)
    assert answer.status_code == 401
    assert answer.json()["outcome"] == "unauthorized"
    assert answer.headers["www-authenticate"] == "Bearer"
    assert passkit.calls == 0


@pytest.mark.parametrize(
    "headers",
    [
        {"authorization": "Bearer new-token"},
        {"authorization": "bearer old-token"},
        {"x-make-apikey": "old-token"},
    ],
)
async def test_any_configured_token_is_accepted(
    guarded: httpx.AsyncClient, passkit: PassKitDouble, headers: dict[str, str]
) -> None:
    """Several tokens work at once (rotation), also under Make's header name."""
    passkit.add("member-1")
    answer = await guarded.post(URL, params=LINK, headers=headers)
    assert answer.status_code == 200


async def test_api_answers_are_not_cached(
    client: httpx.AsyncClient, passkit: PassKitDouble
) -> None:
    """Every API answer is no-store."""
    answer = await client.post(URL, params=LINK)
    assert answer.headers["cache-control"] == "no-store"
    assert answer.headers["content-type"] == "application/json"


async def test_unknown_api_paths_answer_json(client: httpx.AsyncClient) -> None:
    """A wrong path under /api/ is a JSON 404, not an HTML page."""
    answer = await client.post("/api/v1/nope")
    assert answer.status_code == 404
    assert answer.json()["outcome"] == "invalid_request"


async def test_refusals_after_the_link_is_read_still_name_it(
    make_settings: Callable[..., Settings], passkit: PassKitDouble, redis: Redis
) -> None:
    """A 429 (or any later refusal) echoes campaignId and externalId, so a till can match it."""
    passkit.add("member-1")
    async with running(create_app(make_settings(rate_limit_coupon="1/minute"))) as client:
        await client.get("/redeem", params=LINK)  # a preview spends the coupon's one request
        limited = await client.post(URL, params=LINK)
    assert limited.status_code == 429
    assert limited.json()["campaignId"] == "camp-1"
    assert limited.json()["externalId"] == "member-1"


@pytest.mark.parametrize("field", ["kid", "sig", "staffCode"])
@pytest.mark.parametrize("value", [5.5, False, None, [], {}])
async def test_non_text_optional_fields_are_refused_not_dropped(
    client: httpx.AsyncClient, passkit: PassKitDouble, field: str, value: object
) -> None:
    """`"kid": false` is a clear 400, not silently an unsigned link."""
    answer = await client.post(URL, json=LINK | {field: value})
    assert answer.status_code == 400
    assert f"{field} must be a string or an integer" in answer.json()["detail"]
    assert passkit.calls == 0


@pytest.mark.parametrize(
    ("content_type", "status"),
    [(None, 415), ("text/plain", 415), ("application/x-www-form-urlencoded", 400)],
    ids=["none", "text", "form (curl -d)"],
)
async def test_a_json_body_without_its_content_type_is_told_which_to_send(
    client: httpx.AsyncClient, passkit: PassKitDouble, content_type: str | None, status: int
) -> None:
    """A 4xx whose detail names the fix: send it with Content-Type: application/json."""
    body = b' {"externalId": "member-1", "campaignId": "camp-1"}'
    headers = {"content-type": content_type} if content_type else {}
    answer = await client.post(URL, content=body, headers=headers)
    assert answer.status_code == status
    assert answer.json()["detail"] == (
        "the body looks like JSON; send it with Content-Type: application/json"
    )
    assert passkit.calls == 0


async def test_a_json_integer_id_is_read_as_its_decimal_text(
    client: httpx.AsyncClient, passkit: PassKitDouble
) -> None:
    """Make or Zapier send an all-digit pass id as a number: it names the same coupon."""
    passkit.add("12345", "67890")
    answer = await client.post(URL, json={"externalId": 12345, "campaignId": 67890})
    assert answer.status_code == 200, answer.text
    assert (answer.json()["externalId"], answer.json()["campaignId"]) == ("12345", "67890")
