"""Injected faults: latency, random 503s, apply-then-fail and hung redeems."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

import httpx
import pytest
from resolver_sandbox import DEMO, SandboxState, create_sandbox_app
from resolver_sandbox.testing import REDEEM_PATH, coupon_path, passkit_headers

if TYPE_CHECKING:
    from collections.abc import Callable

REDEEM_BODY = {"externalId": DEMO.unredeemed, "campaignId": DEMO.campaign_id}
COUPON = coupon_path(DEMO.campaign_id, DEMO.unredeemed)


async def set_faults(client: httpx.AsyncClient, **faults: object) -> httpx.Response:
    """Put `faults` in force through the admin API."""
    response = await client.put("/_sandbox/faults", json=faults)
    assert response.status_code == 200, response.text
    return response


async def redeem(client: httpx.AsyncClient) -> httpx.Response:
    """Redeem the demo's unredeemed coupon."""
    return await client.put(REDEEM_PATH, json=REDEEM_BODY, headers=passkit_headers())


def status_of(state: SandboxState) -> str:
    """The status of the demo's unredeemed coupon."""
    coupon = state.coupon_by_external_id(DEMO.campaign_id, DEMO.unredeemed)
    assert coupon is not None
    return coupon.status


async def until(condition: Callable[[], bool], *, turns: int = 1000) -> None:
    """Let the event loop run until `condition()` holds (no wall-clock waiting)."""
    for _ in range(turns):
        if condition():
            return
        await asyncio.sleep(0)
    raise AssertionError("condition never held")


async def test_faults_read_back_as_set(client: httpx.AsyncClient) -> None:
    """GET shows the faults PUT set, with unset ones off."""
    await set_faults(client, errorRate=0.25, scope="redeem", seed=3)
    response = await client.get("/_sandbox/faults")
    assert response.json() == {
        "latencyMs": 0.0,
        "errorRate": 0.25,
        "applyThenFail": False,
        "hang": False,
        "acceptRepeats": False,
        "scope": "redeem",
        "seed": 3,
        "hung": 0,
    }


@pytest.mark.parametrize(
    "faults",
    [{"errorRate": 2}, {"latencyMs": -1}, {"scope": "reads"}, {"hang": "yes"}, {"errrorRate": 1}],
)
async def test_invalid_faults_are_refused(
    client: httpx.AsyncClient, faults: dict[str, object]
) -> None:
    """Out-of-range values, wrong types and unknown fields are refused with 400."""
    response = await client.put("/_sandbox/faults", json=faults)
    assert response.status_code == 400
    assert response.json()["code"] == 3


async def test_latency_delays_passkit_calls(client: httpx.AsyncClient) -> None:
    """`latencyMs` holds every PassKit call at least that long."""
    await set_faults(client, latencyMs=60)
    started = time.perf_counter()
    await client.get(COUPON, headers=passkit_headers())
    assert time.perf_counter() - started >= 0.06


async def test_baseline_latency_delays_passkit_calls() -> None:
    """The app's `latency_ms` delays every PassKit call even with no faults set."""
    transport = httpx.ASGITransport(app=create_sandbox_app(latency_ms=60))
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as client:
        started = time.perf_counter()
        await client.get(COUPON, headers=passkit_headers())
        assert time.perf_counter() - started >= 0.06


async def test_error_rate_one_answers_503_without_redeeming(
    client: httpx.AsyncClient, state: SandboxState
) -> None:
    """With `errorRate` 1 every call is answered 503 code 14 and no coupon changes."""
    await set_faults(client, errorRate=1.0)
    response = await redeem(client)
    assert response.status_code == 503
    assert response.json()["code"] == 14
    assert status_of(state) == "UNREDEEMED"
    assert (await client.get(COUPON, headers=passkit_headers())).status_code == 503


async def test_error_rate_is_reproducible_for_a_seed(client: httpx.AsyncClient) -> None:
    """The same seed and calls give the same failures; about the share asked for fail."""

    async def outcomes() -> list[int]:
        await set_faults(client, errorRate=0.5, seed=42)
        headers = passkit_headers()
        return [(await client.get(COUPON, headers=headers)).status_code for _ in range(40)]

    first = await outcomes()
    assert first == await outcomes()
    assert 8 <= first.count(503) <= 32


async def test_redeem_scope_leaves_reads_alone(client: httpx.AsyncClient) -> None:
    """With scope "redeem", reads answer normally while redeems fail."""
    await set_faults(client, errorRate=1.0, scope="redeem")
    assert (await client.get(COUPON, headers=passkit_headers())).status_code == 200
    assert (await redeem(client)).status_code == 503


async def test_apply_then_fail_redeems_and_answers_500(
    client: httpx.AsyncClient, state: SandboxState
) -> None:
    """With `applyThenFail` the coupon is redeemed but the answer is a 500."""
    await set_faults(client, applyThenFail=True)
    response = await redeem(client)
    assert response.status_code == 500
    assert response.json()["code"] == 13
    assert status_of(state) == "REDEEMED"


async def test_apply_then_fail_leaves_refusals_as_they_are(client: httpx.AsyncClient) -> None:
    """A redeem that applies nothing is refused as usual under `applyThenFail`."""
    await set_faults(client, applyThenFail=True)
    await redeem(client)
    response = await redeem(client)
    assert response.status_code == 400
    assert response.json()["message"] == "coupon already redeemed"


async def test_hang_holds_the_redeem_until_the_client_gives_up(
    client: httpx.AsyncClient, state: SandboxState
) -> None:
    """A hung redeem never answers, applies nothing, and still counts as a call."""
    await set_faults(client, hang=True)
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(redeem(client), timeout=0.1)
    assert status_of(state) == "UNREDEEMED"
    coupon = state.coupon_by_external_id(DEMO.campaign_id, DEMO.unredeemed)
    assert coupon is not None
    assert state.stats.redeem_calls(coupon.id) == 1
    await until(lambda: state.faults.hung == 0)


async def test_hang_only_concerns_redeem(client: httpx.AsyncClient) -> None:
    """Reads answer normally while redeems hang."""
    await set_faults(client, hang=True)
    assert (await client.get(COUPON, headers=passkit_headers())).status_code == 200


async def test_clearing_faults_releases_hung_redeems(
    client: httpx.AsyncClient, state: SandboxState
) -> None:
    """DELETE on the faults lets hung calls go with a 503, still unapplied."""
    await set_faults(client, hang=True)
    pending = asyncio.ensure_future(redeem(client))
    await until(lambda: state.faults.hung == 1)
    cleared = await client.delete("/_sandbox/faults")
    assert cleared.json()["hang"] is False
    response = await pending
    assert response.status_code == 503
    assert status_of(state) == "UNREDEEMED"


async def test_reset_releases_hung_redeems(client: httpx.AsyncClient, state: SandboxState) -> None:
    """Reset lets hung calls go too."""
    await set_faults(client, hang=True)
    pending = asyncio.ensure_future(redeem(client))
    await until(lambda: state.faults.hung == 1)
    await client.post("/_sandbox/reset")
    assert (await pending).status_code == 503


async def test_reset_clears_faults(client: httpx.AsyncClient) -> None:
    """After reset no fault is in force."""
    await set_faults(client, errorRate=1.0)
    await client.post("/_sandbox/reset")
    assert (await client.get(COUPON, headers=passkit_headers())).status_code == 200


async def test_accept_repeats_makes_a_second_redeem_apply_again(
    client: httpx.AsyncClient, state: SandboxState
) -> None:
    """A back end without a single-use rule: the second redeem answers 200 and applies again."""
    await set_faults(client, acceptRepeats=True)
    first, second = await redeem(client), await redeem(client)
    assert first.status_code == second.status_code == 200
    tallies = (await client.get("/_sandbox/stats")).json()["coupons"]
    assert [tally["applied"] for tally in tallies.values()] == [2]
