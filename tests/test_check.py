"""`resolver check`: Redis, credentials, regions, campaigns and offers, told apart."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import httpx
import pytest
import respx
from resolver_sandbox import (
    DEMO,
    SandboxState,
    accounts,
    badge_api,
    create_sandbox_app,
    inhouse_api,
    passworks_api,
)
from resolver_sandbox.auth import DEFAULT_API_KEY, DEFAULT_API_SECRET
from resolver_sandbox.server import start_in_thread

from resolver.cli import check, findings
from resolver.providers.accounts import HttpAccount, Wiring
from resolver.storage.inspection import RedisFacts
from tests.conftest import SECRET_KEY, settings_for

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable
    from pathlib import Path

    from resolver.cli.findings import Report
    from resolver.domain.tokens import Token

SANDBOX = "http://passkit.sandbox"
# The sandbox is PassKit's "eu" region; under /_region/us it answers as the other region does.
REGIONS = {"eu": SANDBOX, "us": f"{SANDBOX}/_region/us"}


@pytest.fixture
def state() -> SandboxState:
    """A demo-seeded sandbox state."""
    seeded = SandboxState(seed=3)
    seeded.seed_demo()
    return seeded


@pytest.fixture
def transport(state: SandboxState) -> httpx.ASGITransport:
    """The sandbox, in process, behind every upstream host."""
    return httpx.ASGITransport(app=create_sandbox_app(state))


async def checked(
    redis_url: str,
    transport: httpx.AsyncBaseTransport | None,
    *,
    campaigns: tuple[str, ...] = (DEMO.campaign_id,),
    **overrides: Any,
) -> Report:
    values: dict[str, Any] = {
        "passkit_base_url": None,
        "passkit_region": "eu",
        "passkit_api_key": DEFAULT_API_KEY,
        "passkit_api_secret": DEFAULT_API_SECRET,
        **overrides,
    }
    settings = settings_for(redis_url, **values)
    return await check.run_checks(
        settings, campaigns=campaigns, regions=REGIONS, transport=transport
    )


def joined(report: Report, level: findings.Level | None = None) -> str:
    return "\n".join(report.messages(level))


async def test_a_healthy_setup_passes_and_describes_the_offer(
    redis_url: str, transport: httpx.ASGITransport
) -> None:
    """Credentials, region, campaign and offer all answer: no error, the offer in words."""
    report = await checked(redis_url, transport)
    assert not report.failed, joined(report, "error")
    text = joined(report)
    assert "credentials accepted" in text
    assert f"offer {DEMO.offer_id}" in text
    assert "redeemed by API" in text
    assert "maxmemory-policy noeviction" in text


async def test_a_bad_secret_is_told_as_credentials_not_as_a_missing_campaign(
    redis_url: str, transport: httpx.ASGITransport
) -> None:
    """A wrong secret: the credentials are refused everywhere, campaigns are not blamed."""
    report = await checked(redis_url, transport, passkit_api_secret="x" * 40)
    errors = joined(report, "error")
    assert "credentials refused (401: bad signature; in region(s) us too)" in errors
    assert "the API key or secret is wrong" in errors
    assert "not found" not in errors
    assert "x" * 40 not in findings.render_text(report) + findings.render_json(report)


async def test_a_bad_key_is_told_apart_by_passkit_s_message(
    redis_url: str, transport: httpx.ASGITransport
) -> None:
    """A key the account does not have: refused, with the upstream's own reason."""
    report = await checked(redis_url, transport, passkit_api_key="not-our-key")
    assert "credentials refused (401: unknown api key (uid)" in joined(report, "error")


async def test_a_wrong_region_names_the_region_the_campaign_lives_in(
    redis_url: str, transport: httpx.ASGITransport
) -> None:
    """Configured for us, the campaign answers 404 there and exists in eu: said so."""
    report = await checked(redis_url, transport, passkit_region="us")
    errors = joined(report, "error")
    assert "but this campaign exists in region eu" in errors
    assert "set RESOLVER_PASSKIT_REGION = eu" in errors
    assert report.failed


async def test_a_missing_campaign_is_missing_in_every_region(
    redis_url: str, transport: httpx.ASGITransport
) -> None:
    """A campaign that exists nowhere is not mistaken for a wrong region."""
    report = await checked(redis_url, transport, campaigns=("no-such-campaign",))
    errors = joined(report, "error")
    assert "not found in region eu nor in region(s) us: check the campaign id" in errors
    assert "exists in region" not in errors


@respx.mock(assert_all_mocked=True, assert_all_called=True)
async def test_region_bound_credentials_name_the_account_s_region(
    redis_url: str, respx_mock: respx.MockRouter
) -> None:
    """Refused in us and accepted in eu (404 for a made-up campaign): the account is in eu."""
    us = respx_mock.get(url__startswith=f"{REGIONS['us']}/coupon/singleUse/campaign/")
    us.respond(401, json={"code": 16, "message": "unauthorised"})
    eu = respx_mock.get(url__startswith=f"{SANDBOX}/coupon/singleUse/campaign/")
    eu.respond(404, json={"code": 5, "message": "not found"})
    report = await checked(redis_url, None, passkit_region="us")
    errors = joined(report, "error")
    assert "refused in region us (401: unauthorised) but accepted in region eu" in errors


async def test_offer_settings_that_bypass_the_service_are_warned_about(
    redis_url: str, transport: httpx.ASGITransport, state: SandboxState
) -> None:
    """An offer also redeemable by PassKit's own link, and a disabled one, are warnings."""
    offer = state.offers[DEMO.offer_id]
    state.offers[DEMO.offer_id] = replace(
        offer,
        disabled=True,
        redemption_settings_extra={
            "redemptionType": ["REDEMPTION_TYPE_API", "REDEMPTION_TYPE_CUSTOMER_INITIATED"]
        },
    )
    report = await checked(redis_url, transport)
    warnings = joined(report, "warning")
    assert "also redeemable through PassKit's own link on the coupon" in warnings
    assert "disabled: switched off for now" in warnings


async def test_a_campaign_with_no_offers_is_an_error(
    redis_url: str, transport: httpx.ASGITransport, state: SandboxState
) -> None:
    """A campaign whose offers are all gone cannot show or redeem anything."""
    state.put_campaign("empty-campaign")
    report = await checked(redis_url, transport, campaigns=("empty-campaign",))
    assert "has no offers" in joined(report, "error")


async def test_a_campaigns_file_checks_every_account(
    redis_url: str, transport: httpx.ASGITransport, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PassKit and Passworks accounts: each checked its own way, a bad key found."""
    monkeypatch.setenv("CHECK_PK_SECRET", DEFAULT_API_SECRET)
    monkeypatch.setenv("CHECK_PW_KEY", passworks_api.API_KEY)
    monkeypatch.setenv("CHECK_PW_BAD", "wrong-key")
    file = tmp_path / "campaigns.toml"
    file.write_text(
        f"""
[campaigns]
"{DEMO.campaign_id}" = "pk"
"{DEMO.passworks_campaign}" = "pw"

[accounts.pk]
provider = "passkit"
base_url = "{SANDBOX}"
api_key = "{DEFAULT_API_KEY}"
api_secret = {{ env = "CHECK_PK_SECRET" }}

[accounts.pw]
provider = "passworks"
base_url = "{SANDBOX}/passworks"
username = "{passworks_api.USERNAME}"
api_key = {{ env = "CHECK_PW_KEY" }}

[accounts.pw-bad]
provider = "passworks"
base_url = "{SANDBOX}/passworks"
username = "{passworks_api.USERNAME}"
api_key = {{ env = "CHECK_PW_BAD" }}
""",
        encoding="utf-8",
    )
    settings = settings_for(redis_url, upstream=None, campaigns_file=file)
    report = await check.run_checks(settings, regions=REGIONS, transport=transport)
    titles = [section.title for section in report.sections]
    assert "PassKit account pk (region eu)" in titles
    text = joined(report)
    assert f"offer {DEMO.offer_id}" in text
    by_title = {s.title: [f.message for f in s.findings] for s in report.sections}
    assert any("credentials accepted" in m for m in by_title["account passworks:pw"])
    assert any("credentials refused" in m for m in by_title["account passworks:pw-bad"])


@pytest.mark.parametrize(
    ("account", "token", "level", "words"),
    [
        (accounts.inhouse, inhouse_api.TOKEN, "ok", "credentials accepted"),
        (accounts.inhouse, "wrong-token", "error", "credentials refused (401"),
        (accounts.badge, badge_api.BADGE_KEY, "info", "not checkable"),
    ],
)
async def test_other_back_ends_are_checked_where_they_can_be(
    transport: httpx.ASGITransport,
    account: Callable[[str], dict[str, Any]],
    token: str,
    level: str,
    words: str,
) -> None:
    """A read-back account proves its credentials by a read; one without a read says so."""
    config = account(SANDBOX)
    name = "SANDBOX_INHOUSE_TOKEN" if account is accounts.inhouse else "SANDBOX_BADGE_KEY"
    model = HttpAccount.model_validate(config, context={"environ": {name: token}})
    section = findings.Section("account")
    async with httpx.AsyncClient(transport=transport) as client:
        provider = model.build("http:test", Wiring(client, SharedTokensUnused()))
        await check.check_other(provider, ["some-campaign"], section)
    assert section.findings[0].level == level
    assert words in section.findings[0].message


class SharedTokensUnused:
    """No account here fetches an access token."""

    async def token(self, name: str, fetch: Callable[[], Awaitable[Token]]) -> str:
        raise AssertionError(name)

    async def forget(self, name: str, value: str) -> None:
        raise AssertionError(name)


def test_eviction_policies_other_than_noeviction_are_flagged() -> None:
    """allkeys-* is an error, volatile-* a warning, noeviction fine."""
    facts = RedisFacts("7.2.0", "master", "noeviction", 10, 0, aof=True, rdb_schedule="")
    for policy, level in (
        ("noeviction", "ok"),
        ("volatile-lru", "warning"),
        ("allkeys-lru", "error"),
    ):
        section = findings.Section("Redis")
        check.judge_redis(replace(facts, eviction=policy), section)
        assert section.findings[0].level == level, policy


def test_a_replica_and_missing_persistence_are_flagged() -> None:
    """A replica refuses claims (error); no persistence forgets them (warning)."""
    section = findings.Section("Redis")
    facts = RedisFacts("7.2.0", "slave", "noeviction", 90, 100, aof=False, rdb_schedule="")
    check.judge_redis(facts, section)
    levels = {f.level for f in section.findings}
    messages = " ".join(f.message for f in section.findings)
    assert "error" in levels
    assert "a restart forgets every claim" in messages
    assert "90% of maxmemory" in messages


def test_the_command_exits_non_zero_on_an_error_and_prints_json(redis_url: str) -> None:
    """Against a real sandbox: exit 0 when healthy, 1 with a bad secret, JSON on request."""
    with start_in_thread() as sandbox:
        env = {key: value for key, value in os.environ.items() if not key.startswith("RESOLVER_")}
        env |= {
            "RESOLVER_UPSTREAM": "passkit",
            "RESOLVER_PASSKIT_BASE_URL": sandbox.url,
            "RESOLVER_PASSKIT_API_KEY": DEFAULT_API_KEY,
            "RESOLVER_PASSKIT_API_SECRET": DEFAULT_API_SECRET,
            "RESOLVER_REDIS_URL": redis_url,
            "RESOLVER_SECRET_KEY": SECRET_KEY,
        }
        command = [sys.executable, "-m", "resolver", "check", "--campaign", DEMO.campaign_id]
        healthy = subprocess.run(  # noqa: S603  # our own interpreter and argv, no shell
            [*command, "--json"], env=env, capture_output=True, text=True, timeout=60, check=False
        )
        assert healthy.returncode == 0, healthy.stdout + healthy.stderr
        assert json.loads(healthy.stdout)["ok"] is True
        env["RESOLVER_PASSKIT_API_SECRET"] = "another-secret-of-at-least-32-bytes"
        refused = subprocess.run(  # noqa: S603  # our own interpreter and argv, no shell
            command, env=env, capture_output=True, text=True, timeout=60, check=False
        )
        assert refused.returncode == 1
        assert "credentials refused" in refused.stdout
        assert "another-secret" not in refused.stdout + refused.stderr
