"""`resolver probe`: what PassKit answers to a second redeem, an expired coupon and a void."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import httpx
import pytest
import respx
from resolver_sandbox import DEMO, SandboxState, create_sandbox_app
from resolver_sandbox.auth import DEFAULT_API_KEY, DEFAULT_API_SECRET
from resolver_sandbox.records import PASS_INVALIDATED, REDEEMED
from resolver_sandbox.server import start_in_thread

from resolver.cli.probe import confirmed
from resolver.cli.probing import Probe
from resolver.providers.passkit_admin import PassKitAdmin
from resolver.providers.passkit_auth import PassKitJWTAuth
from tests.conftest import SECRET_KEY

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

SANDBOX = "http://passkit.sandbox"


@pytest.fixture
def state() -> SandboxState:
    """A demo-seeded sandbox state."""
    seeded = SandboxState(seed=5)
    seeded.seed_demo()
    return seeded


@pytest.fixture
async def admin(state: SandboxState) -> AsyncIterator[PassKitAdmin]:
    """The sandbox's PassKit account, in process."""
    transport = httpx.ASGITransport(app=create_sandbox_app(state))
    async with httpx.AsyncClient(transport=transport) as client:
        auth = PassKitJWTAuth(DEFAULT_API_KEY, DEFAULT_API_SECRET)
        yield PassKitAdmin(client, base_url=SANDBOX, auth=auth)


def answers(probe: Probe) -> dict[str, tuple[int | None, dict[str, str]]]:
    return {
        step.title: (step.answer.status if step.answer else None, step.fields())
        for step in probe.steps
    }


async def test_the_probe_reports_each_answer_and_voids_what_it_made(
    admin: PassKitAdmin, state: SandboxState
) -> None:
    """Create, redeem twice, read, expired create and redeem, void: every answer recorded."""
    before = {coupon.id: coupon.status for coupon in state.coupons.values()}
    probe = Probe(admin, DEMO.campaign_id)
    await probe.run()
    seen = answers(probe)
    assert seen["create a coupon"][0] == 200
    assert seen["redeem it"][0] == 200
    assert seen["redeem it again"] == (400, {"code": "9", "message": "coupon already redeemed"})
    assert seen["read it back by external id"][1]["status"] == REDEEMED
    assert "redemptionDate" in seen["read it back by external id"][1]
    assert seen["create a coupon that expired yesterday"][0] == 200
    assert seen["redeem the expired coupon"][1]["message"] == "coupon expired"
    assert seen["read the voided coupon by external id"][0] == 404
    assert seen["read the voided coupon by id"][1]["passMetaData.status"] == PASS_INVALIDATED
    assert probe.cleaned_up
    assert len(probe.created) == 2
    for coupon_id, _ in probe.created:
        assert state.coupons[coupon_id].pass_status == PASS_INVALIDATED
    # Every coupon that was there before is as it was.
    assert {cid: state.coupons[cid].status for cid in before} == before
    assert all(
        tally.external_id.startswith("resolver-probe-") for tally in state.stats.redeems.values()
    )


async def test_a_campaign_that_does_not_exist_creates_nothing(admin: PassKitAdmin) -> None:
    """A 404 for the campaign stops the probe before any coupon is made."""
    probe = Probe(admin, "no-such-campaign")
    await probe.run()
    assert [step.title for step in probe.steps] == ["read the campaign"]
    assert probe.created == []
    assert probe.cleaned_up


@respx.mock(assert_all_mocked=True)
async def test_coupons_are_voided_even_when_a_step_blows_up(
    respx_mock: respx.MockRouter,
) -> None:
    """An unexpected failure midway still voids the coupon already created, then re-raises."""
    respx_mock.get(f"{SANDBOX}/coupon/singleUse/campaign/camp").respond(200, json={"id": "camp"})
    respx_mock.post(f"{SANDBOX}/coupon/singleUse/coupon").respond(200, json={"id": "c1"})
    respx_mock.put(f"{SANDBOX}/coupon/singleUse/coupon/redeem").mock(
        side_effect=RuntimeError("a bug")
    )
    void = respx_mock.delete(f"{SANDBOX}/coupon/singleUse/coupon").respond(200, json={})
    respx_mock.get(url__startswith=f"{SANDBOX}/coupon/singleUse/coupon/").respond(404, json={})
    async with httpx.AsyncClient() as client:
        admin = PassKitAdmin(client, base_url=SANDBOX, auth=httpx.BasicAuth("u", "p"))
        new_year = datetime(2026, 1, 1, tzinfo=UTC)
        probe = Probe(admin, "camp", offer_id="offer", clock=lambda: new_year)
        with pytest.raises(RuntimeError, match="a bug"):
            await probe.run()
    assert void.call_count == 1
    assert json.loads(void.calls[0].request.content)["id"] == "c1"
    assert probe.cleaned_up


@respx.mock(assert_all_mocked=True)
async def test_a_create_without_an_answer_is_looked_for_and_voided(
    respx_mock: respx.MockRouter,
) -> None:
    """A create that timed out may have been applied: found by its own external id, voided."""
    respx_mock.get(f"{SANDBOX}/coupon/singleUse/campaign/camp").respond(200, json={"id": "camp"})
    respx_mock.post(f"{SANDBOX}/coupon/singleUse/coupon").mock(
        side_effect=httpx.ReadTimeout("slow")
    )
    respx_mock.get(url__startswith=f"{SANDBOX}/coupon/singleUse/coupon/externalId/").respond(
        200, json={"id": "late", "status": "UNREDEEMED"}
    )
    respx_mock.get(url__startswith=f"{SANDBOX}/coupon/singleUse/coupon/late").respond(200, json={})
    respx_mock.put(f"{SANDBOX}/coupon/singleUse/coupon/redeem").respond(200, json={"id": "late"})
    void = respx_mock.delete(f"{SANDBOX}/coupon/singleUse/coupon").respond(200, json={})
    async with httpx.AsyncClient() as client:
        admin = PassKitAdmin(client, base_url=SANDBOX, auth=httpx.BasicAuth("u", "p"))
        probe = Probe(admin, "camp", offer_id="offer")
        await probe.run()
    assert {cid for cid, _ in probe.created} == {"late"}
    assert void.call_count == len(probe.created)
    assert "did not answer in time" in answers(probe)["create a coupon"][1]["failure"]


def sandbox_env(url: str, redis_url: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("RESOLVER_")}
    return env | {
        "RESOLVER_UPSTREAM": "passkit",
        "RESOLVER_PASSKIT_BASE_URL": url,
        "RESOLVER_PASSKIT_API_KEY": DEFAULT_API_KEY,
        "RESOLVER_PASSKIT_API_SECRET": DEFAULT_API_SECRET,
        "RESOLVER_REDIS_URL": redis_url,
        "RESOLVER_SECRET_KEY": SECRET_KEY,
    }


def test_the_command_asks_first_and_runs_with_yes(redis_url: str) -> None:
    """Without a terminal and without --yes nothing is sent; with --yes it runs to the void."""
    state = SandboxState(seed=9)
    state.seed_demo()
    with start_in_thread(state=state) as sandbox:
        env = sandbox_env(sandbox.url, redis_url)
        command = [sys.executable, "-m", "resolver", "probe", "--campaign", DEMO.campaign_id]
        refused = subprocess.run(  # noqa: S603  # our own interpreter and argv, no shell
            command, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
            timeout=60, check=False,
        )  # fmt: skip
        assert refused.returncode == 2
        assert "pass --yes" in refused.stderr
        assert state.stats.endpoints == {}
        done = subprocess.run(  # noqa: S603  # our own interpreter and argv, no shell
            [*command, "--yes", "--json"], env=env, capture_output=True, text=True,
            timeout=60, check=False,
        )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "sends real calls to PassKit" in done.stderr
    report = json.loads(done.stdout)
    assert report["cleanedUp"] is True
    statuses = {step["title"]: step["status"] for step in report["steps"]}
    assert statuses["redeem it again"] == 400


class Terminal(io.StringIO):
    """Typed input on a terminal."""

    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(("typed", "expected"), [("demo-campaign\n", True), ("yes\n", False)])
def test_only_the_campaign_id_typed_confirms(
    typed: str, expected: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ "yes" is not enough: the operator types the campaign the probe will write to."""
    monkeypatch.setattr(sys, "stdin", Terminal(typed))
    assert confirmed(DEMO.campaign_id) is expected
