"""Metrics over real processes: `resolver serve --workers 2` against the sandbox, known traffic
(every outcome, every back end, faults, a coalesced tap, a rate limit, a staff lockout), and a
scrape of the parent's metrics port that must match it exactly."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import TYPE_CHECKING

import httpx
from resolver_bench.processes import free_port
from resolver_sandbox import DEMO

from tests.e2e.taps import link, phone, phones, redeem_json
from tests.e2e.upstream import OFFER
from tests.support.metrics import Samples, seed_passing_then_failing
from tests.support.staff import PIN, write_staff_file

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from resolver_bench.processes import Child

    from tests.e2e.upstream import Upstream

CAMPAIGN = "e2e-metrics"
STAFFED = "e2e-staffed"
PASSKIT = "passkit"
# The demo's accounts by simulated back end: a provider's name is its kind and account.
BACKENDS = {
    "passworks": "passworks:sandbox-passworks",
    "skycore": "skycore:sandbox-skycore",
    "google": "google_wallet:sandbox-google",
    "inhouse": "http:sandbox-inhouse",
    "badge": "http:sandbox-badge",
}
TOKEN = "e2e-metrics-token"
REDEEM_ROUTE = {"http_request_method": "POST", "http_route": "/api/v1/redeem"}


async def scrape(port: int) -> Samples:
    async with httpx.AsyncClient() as client:
        answer = await client.get(f"http://127.0.0.1:{port}/metrics")
    assert answer.status_code == 200, answer.text
    return Samples.parse(answer.text)


async def faults(upstream: Upstream, **config: object) -> None:
    answer = await upstream.client.put("/_sandbox/faults", json=config)
    assert answer.status_code == 200, answer.text


async def until_hung(upstream: Upstream) -> None:
    """Wait until the sandbox holds a redeem call."""
    for _ in range(200):
        if (await upstream.client.get("/_sandbox/faults")).json()["hung"]:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("no redeem call was held")


async def test_counters_match_the_traffic_sent_to_two_workers(  # noqa: PLR0915  # one story
    start_serve: Callable[..., Child], upstream: Upstream, tmp_path: Path
) -> None:
    """Every answer the clients got is counted once, by back end and outcome, with the calls
    each back end received, the read-backs, doubts, waits, refusals and staff checks."""
    await upstream.coupons(CAMPAIGN, "p", 8)
    expired = await upstream.client.post(
        "/_sandbox/coupons",
        json={
            "count": 1, "campaignId": CAMPAIGN, "externalIdPrefix": "x", "offerId": OFFER,
            "expiryDate": "2020-01-01T00:00:00Z",
        },
    )  # fmt: skip
    assert expired.status_code == 201, expired.text
    staffed = await upstream.client.post(
        "/_sandbox/coupons",
        json={"count": 2, "campaignId": STAFFED, "externalIdPrefix": "s", "offerId": "staffed"},
    )
    assert staffed.status_code == 201, staffed.text
    for api, campaign in DEMO.other_campaigns.items():
        made = await upstream.client.post(
            f"/_sandbox/{api}/coupons",
            json={"count": 1, "campaignId": campaign, "externalIdPrefix": "m-"},
        )
        assert made.status_code == 201, made.text
    port = free_port()
    serve = start_serve(
        workers=2,
        metrics_port=port,
        rate_limit_coupon="3/minute",
        staff_file=write_staff_file(tmp_path, {STAFFED: "required"}),
        staff_max_failures=2,
        metrics_token=TOKEN,
        coalesce_wait=2,
    )
    sent: list[tuple[str, httpx.Response]] = []

    async def tap(backend: str, body: dict[str, str], **headers: str) -> httpx.Response:
        async with phone(serve.url) as client:
            answer = await client.post("/api/v1/redeem", json=body, headers=headers)
        sent.append((backend, answer))
        return answer

    def outcome(answer: httpx.Response) -> str:
        return str(answer.json()["outcome"])

    # Redeemed, then another request: already redeemed; a till's retry: replayed.
    assert outcome(await tap(PASSKIT, link(CAMPAIGN, "p0"))) == "redeemed"
    assert outcome(await tap(PASSKIT, link(CAMPAIGN, "p0"))) == "already_redeemed"
    assert outcome(await tap(PASSKIT, link(CAMPAIGN, "p1"), **{"idempotency-key": "k1"})) == (
        "redeemed"
    )
    retry = await tap(PASSKIT, link(CAMPAIGN, "p1"), **{"idempotency-key": "k1"})
    assert retry.json()["replayed"] is True
    assert outcome(await tap(PASSKIT, link(CAMPAIGN, "nobody"))) == "no_active_coupon"
    assert outcome(await tap(PASSKIT, link(CAMPAIGN, "x0"))) == "expired"
    # Every other simulated back end.
    for api, campaign in DEMO.other_campaigns.items():
        assert outcome(await tap(BACKENDS[api], link(campaign, "m-0"))) == "redeemed"
    # Applied, then failed: read back, and it was ours.
    await faults(upstream, applyThenFail=True, scope="redeem")
    assert outcome(await tap(PASSKIT, link(CAMPAIGN, "p2"))) == "redeemed"
    # A 503 from the redeem: read back, still redeemable: a doubt; the next tap settles it.
    await faults(upstream, errorRate=1.0, scope="redeem")
    assert outcome(await tap(PASSKIT, link(CAMPAIGN, "p3"))) == "unconfirmed"
    await faults(upstream)
    assert outcome(await tap(PASSKIT, link(CAMPAIGN, "p3"))) == "redeemed"
    # Applied, then failed, and the read-back fails too: a doubt left unknown.
    await faults(
        upstream, applyThenFail=True, errorRate=0.5, seed=seed_passing_then_failing(), scope="all"
    )
    assert outcome(await tap(PASSKIT, link(CAMPAIGN, "p4"))) == "unconfirmed"
    # Two taps at once on a slow back end: the second waits and learns the first's result.
    await faults(upstream, latencyMs=600, scope="redeem")
    async with phones(serve.url, 2) as (first, second):
        pair = await asyncio.gather(
            redeem_json(first, link(CAMPAIGN, "p5")), redeem_json(second, link(CAMPAIGN, "p5"))
        )
    sent += [(PASSKIT, answer) for answer in pair]
    assert sorted(map(outcome, pair)) == ["already_redeemed", "redeemed"]
    # A tap meeting an attempt that hangs stops waiting ("in progress"); let go, the hung
    # attempt's answer is unclear, and it ends in doubt.
    await faults(upstream, hang=True, scope="redeem")
    async with phones(serve.url, 2) as (first, second):
        hung = asyncio.ensure_future(redeem_json(first, link(CAMPAIGN, "p7")))
        await until_hung(upstream)
        waiting = await redeem_json(second, link(CAMPAIGN, "p7"))
        await faults(upstream)
        released = await hung
    sent += [(PASSKIT, released), (PASSKIT, waiting)]
    assert (outcome(waiting), outcome(released)) == ("in_progress", "unconfirmed")
    # The coupon's limit: the fourth look at its page within the minute is refused.
    async with phone(serve.url) as client:
        pages = [await client.get("/redeem", params=link(CAMPAIGN, "p6")) for _ in range(4)]
    assert [page.status_code for page in pages] == [200, 200, 200, 429]
    # Staff: a PIN verifies; two wrong codes lock the coupon out, and it stays locked.
    assert outcome(await tap(PASSKIT, {**link(STAFFED, "s0"), "staffCode": PIN})) == "redeemed"
    wrong = [await tap(PASSKIT, {**link(STAFFED, "s1"), "staffCode": "000000"}) for _ in range(3)]
    assert [answer.status_code for answer in wrong] == [403, 429, 429]

    found = await scrape(port)
    # Any worker's /metrics, for the token's bearer, answers the same sums.
    async with phone(serve.url) as client:
        served = await client.get("/metrics", headers={"authorization": f"Bearer {TOKEN}"})
    assert Samples.parse(served.text).by("resolver_redemptions_total", "outcome") == found.by(
        "resolver_redemptions_total", "outcome"
    )

    refused = {403, 429}
    expected = Counter(
        (backend, outcome(answer), str(answer.json()["replayed"]).lower())
        for backend, answer in sent
        if answer.status_code not in refused
    )
    counted = Counter(
        {
            (labels["backend"], labels["outcome"], labels["replayed"]): int(value)
            for name, labels, value in found.samples
            if name == "resolver_redemptions_total" and value
        }
    )
    assert counted == expected
    statuses = Counter(str(answer.status_code) for _, answer in sent)
    assert found.by(
        "http_server_request_duration_seconds_count", "http_response_status_code", **REDEEM_ROUTE
    ) == {status: float(count) for status, count in statuses.items()}
    # The calls each back end received, as the sandbox counted them.
    passkit_redeems = await upstream.redeem_calls()
    assert found.total(
        "resolver_upstream_requests_total", backend=PASSKIT, operation="redeem"
    ) == float(passkit_redeems)
    assert found.by(
        "resolver_upstream_requests_total", "result", backend=PASSKIT, operation="redeem"
    ) == {"ok": passkit_redeems - 6.0, "rejected_5xx": 4.0, "rejected_4xx": 2.0}
    for api in DEMO.other_campaigns:
        backend = BACKENDS[api]
        assert found.total("resolver_upstream_requests_total", backend=backend, operation="redeem")
        assert found.total(
            "resolver_upstream_request_duration_seconds_count", backend=backend, operation="redeem"
        ) == found.total("resolver_upstream_requests_total", backend=backend, operation="redeem")
    tallies = (await upstream.client.get("/_sandbox/stats")).json()["coupons"].values()
    by_api = Counter(tally["api"] for tally in tallies if tally["externalId"] == "m-0")
    for api, calls in by_api.items():
        assert found.total(
            "resolver_upstream_requests_total", backend=BACKENDS[api], operation="redeem"
        ) == float(calls), api
    # Read-backs: p2, p3 twice, the unknown and the expired coupons' 4xx, the hung call; p4's
    # failed. Doubts: p3, p4, the hung call. Waits: p5's second tap, p7's.
    assert found.by("resolver_read_backs_total", "result", backend=PASSKIT) == {
        "ok": 6.0,
        "failed": 1.0,
    }
    assert found.total("resolver_doubts_left_unknown_total") == 3.0
    assert found.by("resolver_claim_waits_total", "ended") == {"coalesced": 1.0, "in_progress": 1.0}
    assert found.by("resolver_refusals_total", "reason") == {
        "rate_limited_coupon": 1.0,
        "locked_out": 2.0,
    }
    assert found.by("resolver_staff_verifications_total", "result", method="pin") == {
        "verified": 1.0
    }
    assert found.by("resolver_staff_verifications_total", "result", method="none") == {
        "failed": 2.0,
        "locked": 1.0,
    }
    assert found.total("resolver_redis_errors_total") == 0.0
    assert found.total("resolver_unavailable_answers_total") == 0.0
    assert found.total("resolver_build_info") == 1.0


async def test_the_container_serves_its_own_metrics_on_the_metrics_port(
    start_serve: Callable[..., Child], upstream: Upstream
) -> None:
    """One uvicorn process (the image's command): its figures on the port, no directory."""
    await upstream.coupons(CAMPAIGN, "c", 1)
    port = free_port()
    serve = start_serve(container=True, metrics_port=port)
    async with phone(serve.url) as client:
        assert (await redeem_json(client, link(CAMPAIGN, "c0"))).status_code == 200
        assert (await client.get("/metrics")).status_code == 404  # no token: no route
    found = await scrape(port)
    assert found.by("resolver_redemptions_total", "outcome", backend=PASSKIT) == {"redeemed": 1.0}
    assert found.total("resolver_build_info") == 1.0
