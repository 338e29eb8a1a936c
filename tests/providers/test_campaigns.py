"""The campaigns file: accounts per back end, secrets by reference, start-up errors that name the
file and the entry, and the routing it builds."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import httpx
import pytest

from resolver.app import create_app
from resolver.cli import main
from resolver.domain.errors import ConfigurationError
from resolver.providers.accounts import Wiring
from resolver.providers.campaigns import load, router
from resolver.providers.generic import GenericHttp
from resolver.providers.google_wallet import GoogleWallet
from resolver.providers.passkit import PassKit
from resolver.providers.passworks import Passworks
from resolver.providers.skycore import Skycore
from resolver.settings import Settings
from resolver.storage.token_cache import SharedTokens
from tests.support.google import service_account_info

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from redis.asyncio import Redis

EVERY_BACK_END = """
default = "coffee"

[campaigns]
"summer-coffee" = "coffee"
"5fd663d1-4ed4-4800-8d5a-caea4131358a" = "paw-planet"
"a1b2c3d4" = "pizza"
"spring-offers" = "wallet"
"badge-drinks" = "badge"

[accounts.coffee]
provider = "passkit"
region = "us"
api_key = "key-id-1"
api_secret = { env = "COFFEE_SECRET" }

[accounts.paw-planet]
provider = "passworks"
username = "paw-planet"
api_key = { file = "passworks-key" }

[accounts.pizza]
provider = "skycore"
endpoint = "https://api.skycore.example/API/wallet/v3/acme"
api_key = { env = "SKYCORE_KEY" }
remember_days = 90

[accounts.wallet]
provider = "google_wallet"
issuer_id = "3388000000022000001"
service_account = { file = "google-key.json" }

[accounts.badge]
provider = "http"
base_url = "https://api.trybadge.example"
secret_headers = { Authorization = { env = "BADGE_KEY", prefix = "Bearer " } }
offer = { title = "Free drink" }

[accounts.badge.redeem]
path = "/v0/userPassUpsert"

[accounts.badge.redeem.body]
passTemplateId = "{campaign_id}"
pass = { id = "{external_id}", attributes = { redeemed = "{now}" } }
"""


@pytest.fixture
def secrets_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "secrets"
    folder.mkdir()
    (folder / "passworks-key").write_text("pw-key\n")
    (folder / "google-key.json").write_text(json.dumps(service_account_info("https://t.test")))
    return folder


@pytest.fixture
def environ(secrets_dir: Path) -> dict[str, str]:
    return {
        "COFFEE_SECRET": "coffee-secret-of-at-least-32-bytes",
        "SKYCORE_KEY": "Sky123",
        "BADGE_KEY": "badge-key",
        "RESOLVER_SECRETS_DIR": str(secrets_dir),
    }


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "campaigns.toml"
    path.write_text(text)
    return path


def test_every_back_end_loads_with_its_secrets_by_reference(
    tmp_path: Path, environ: dict[str, str]
) -> None:
    """Environment variables and secret files fill the references; prefixes are kept."""
    config = load(write(tmp_path, EVERY_BACK_END), environ)
    assert set(config.accounts) == {"coffee", "paw-planet", "pizza", "wallet", "badge"}
    badge = config.accounts["badge"]
    assert badge.provider == "http"
    assert badge.secret_headers["Authorization"].get_secret_value() == "Bearer badge-key"
    assert "campaigns file: 5 campaign(s)" in config.describe()


async def test_the_router_gives_each_campaign_its_accounts_provider(
    tmp_path: Path, environ: dict[str, str], redis: Redis
) -> None:
    """Each campaign reaches its account; names carry the account; the default takes the rest."""
    config = load(write(tmp_path, EVERY_BACK_END), environ)
    async with httpx.AsyncClient() as http:
        routes = router(config, Wiring(http, SharedTokens(redis)))
        expected = {
            "summer-coffee": (PassKit, "passkit:coffee"),
            "5fd663d1-4ed4-4800-8d5a-caea4131358a": (Passworks, "passworks:paw-planet"),
            "a1b2c3d4": (Skycore, "skycore:pizza"),
            "spring-offers": (GoogleWallet, "google_wallet:wallet"),
            "badge-drinks": (GenericHttp, "http:badge"),
            "anything-else": (PassKit, "passkit:coffee"),
        }
        for campaign, (kind, name) in expected.items():
            provider = routes.provider(campaign)
            assert isinstance(provider, kind)
            assert provider is not None
            assert provider.name == name
        skycore = routes.provider("a1b2c3d4")
        assert skycore is not None
        assert skycore.capabilities.remember == 90 * 86_400


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            ('api_key = { file = "passworks-key" }', 'api_key = "pw-key"'),
            "accounts.paw-planet.api_key: a secret is never written",
        ),
        (
            ('{ env = "SKYCORE_KEY" }', '{ env = "NOPE" }'),
            "accounts.pizza.api_key: environment variable NOPE is not set",
        ),
        (('"a1b2c3d4" = "pizza"', '"a1b2c3d4" = "piza"'), "no account named piza"),
        (('provider = "skycore"', 'provider = "skycorp"'), "accounts.pizza"),
        (
            ("remember_days = 90", "remember_dayz = 90"),
            "accounts.pizza.remember_dayz: Extra inputs",
        ),
        (('issuer_id = "3388000000022000001"', 'issuer_id = "acme"'), "accounts.wallet.issuer_id"),
        (('path = "/v0/userPassUpsert"', 'path = "/v0/{user}"'), "unknown placeholder(s) user"),
        (
            ('{ file = "google-key.json" }', '{ file = "../google-key.json" }'),
            "must be a plain file name",
        ),
    ],
)
def test_a_bad_entry_stops_start_up_naming_the_file_and_the_entry(
    tmp_path: Path, environ: dict[str, str], change: tuple[str, str], message: str
) -> None:
    """Secrets in clear, missing variables, dangling names, typos: each is named."""
    path = write(tmp_path, EVERY_BACK_END.replace(*change))
    with pytest.raises(ConfigurationError) as raised:
        load(path, environ)
    assert str(path) in str(raised.value)
    assert message in str(raised.value)


def test_a_file_that_is_not_toml_is_named(tmp_path: Path) -> None:
    """The parser's line and column come with the file's path."""
    path = write(tmp_path, "[accounts\n")
    with pytest.raises(ConfigurationError, match="not valid TOML"):
        load(path, {})


def test_a_secret_file_needs_the_secrets_dir(tmp_path: Path, environ: dict[str, str]) -> None:
    """`{ file = … }` without RESOLVER_SECRETS_DIR says so."""
    del environ["RESOLVER_SECRETS_DIR"]
    with pytest.raises(ConfigurationError, match="needs RESOLVER_SECRETS_DIR"):
        load(write(tmp_path, EVERY_BACK_END), environ)


def test_a_file_that_serves_nothing_is_refused(tmp_path: Path) -> None:
    """No campaigns and no default would answer every link "no coupon": surely a mistake."""
    text = '[accounts.a]\nprovider = "passworks"\nusername = "u"\napi_key = { env = "K" }\n'
    with pytest.raises(ConfigurationError, match="nothing would be served"):
        load(write(tmp_path, text), {"K": "k"})


def test_a_campaigns_file_makes_the_upstream_campaigns(tmp_path: Path) -> None:
    """The file decides; PassKit credentials are not needed, and RESOLVER_UPSTREAM must agree."""
    path = write(tmp_path, "")
    assert Settings(_env_file=None, campaigns_file=path).upstream == "campaigns"
    with pytest.raises(ValueError, match="RESOLVER_UPSTREAM must be unset or campaigns"):
        Settings(_env_file=None, campaigns_file=path, upstream="passkit")
    with pytest.raises(ValueError, match="needs RESOLVER_CAMPAIGNS_FILE"):
        Settings(_env_file=None, upstream="campaigns")
    with pytest.raises(ValueError, match="is not a readable file"):
        Settings(_env_file=None, campaigns_file=tmp_path / "missing.toml")


def test_create_app_refuses_a_bad_file_before_serving(
    tmp_path: Path, make_settings: Callable[..., Settings]
) -> None:
    """The file is read when the app is made, so a worker never starts half-configured."""
    path = write(tmp_path, 'default = "ghost"\n[accounts]\n')
    with pytest.raises(ConfigurationError, match="no account named ghost"):
        create_app(make_settings(campaigns_file=path, upstream=None, passkit_api_key=None,
                                 passkit_api_secret=None))  # fmt: skip


def test_serve_stops_with_status_2_naming_the_entry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`resolver serve` checks the file before starting anything."""
    monkeypatch.setenv(
        "RESOLVER_CAMPAIGNS_FILE", str(write(tmp_path, 'default = "x"\n[accounts]\n'))
    )
    with pytest.raises(SystemExit) as stopped:
        main(["serve"])
    assert stopped.value.code == 2
    assert "default: no account named x" in capsys.readouterr().err
