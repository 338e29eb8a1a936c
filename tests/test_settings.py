"""Settings: defaults, environment names, and start-up errors that name the variable."""

from __future__ import annotations

import json
from pathlib import Path
from typing import get_args

import httpx
import pytest
from pydantic import ValidationError
from redis.asyncio import Redis

from resolver.backends import build_router, policy
from resolver.providers.accounts import Wiring
from resolver.settings import MAX_LOGO_BYTES, Settings, describe_error, load_settings
from resolver.storage.token_cache import SharedTokens
from resolver.web.i18n import LANGUAGES


def make(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[arg-type]  # values are checked


def test_defaults_are_the_documented_ones() -> None:
    """confirm mode, a 900 s window, 127.0.0.1:8000, the EU region."""
    settings = make()
    assert settings.redeem_mode == "confirm"
    assert settings.duplicate_window == 900
    assert (settings.host, settings.port) == ("127.0.0.1", 8000)
    assert settings.passkit_url == "https://api.pub1.passkit.io"


def test_without_credentials_the_upstream_is_the_sandbox() -> None:
    """No PassKit credentials: the zero-config sandbox."""
    assert make().upstream == "sandbox"


def test_with_credentials_the_upstream_is_passkit() -> None:
    """A key and secret (or a token) select PassKit."""
    assert make(passkit_api_key="k", passkit_api_secret="s").upstream == "passkit"
    assert make(passkit_token="t").upstream == "passkit"


def test_the_region_picks_the_host_and_a_base_url_overrides_it() -> None:
    """us → api.pub2; RESOLVER_PASSKIT_BASE_URL wins over the region."""
    assert make(passkit_region="us").passkit_url == "https://api.pub2.passkit.io"
    assert make(passkit_base_url="http://127.0.0.1:9/").passkit_url == "http://127.0.0.1:9"


def test_settings_come_from_resolver_prefixed_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    """RESOLVER_* in the environment is read; several API tokens are comma-separated."""
    monkeypatch.setenv("RESOLVER_REDEEM_MODE", "instant")
    monkeypatch.setenv("RESOLVER_API_TOKEN", "one, two")
    settings = make()
    assert settings.redeem_mode == "instant"
    assert [t.get_secret_value() for t in settings.api_token] == ["one", "two"]


@pytest.mark.parametrize(
    ("values", "variable"),
    [
        ({"passkit_region": "asia"}, "RESOLVER_PASSKIT_REGION"),
        ({"port": 70000}, "RESOLVER_PORT"),
        ({"redeem_mode": "sometimes"}, "RESOLVER_REDEEM_MODE"),
        ({"duplicate_window": 0}, "RESOLVER_DUPLICATE_WINDOW"),
        ({"redis_url": "localhost:6379"}, "RESOLVER_REDIS_URL"),
        ({"redis_url": "redis+sentinel://s1:26379"}, "RESOLVER_REDIS_URL"),
        (
            {"redis_url": "redis+cluster://n1:7000", "redis_replica_acks": 1},
            "RESOLVER_REDIS_REPLICA_ACKS",
        ),
        ({"passkit_base_url": "ftp://x"}, "RESOLVER_PASSKIT_BASE_URL"),
        ({"upstream": "passkit"}, "RESOLVER_PASSKIT_API_KEY"),
        ({"passkit_api_key": "k"}, "RESOLVER_PASSKIT_API_SECRET"),
        ({"live_seconds": 0}, "RESOLVER_LIVE_SECONDS"),
        ({"default_language": "pt"}, "RESOLVER_DEFAULT_LANGUAGE"),
        ({"brand_name": "   "}, "RESOLVER_BRAND_NAME"),
        ({"brand_color": "navy"}, "RESOLVER_BRAND_COLOR"),
        ({"brand_color": "#12345"}, "RESOLVER_BRAND_COLOR"),
        ({"brand_logo": "http://cdn.example.com/logo.png"}, "RESOLVER_BRAND_LOGO"),
        ({"brand_logo": "https://"}, "RESOLVER_BRAND_LOGO"),
        ({"brand_logo": "/nonexistent/logo.svg"}, "RESOLVER_BRAND_LOGO"),
        ({"brand_logo": "/etc/hostname"}, "RESOLVER_BRAND_LOGO"),
        ({"support_url": "javascript:alert(1)"}, "RESOLVER_SUPPORT_URL"),
        ({"support_url": "http://help.example.com"}, "RESOLVER_SUPPORT_URL"),
        ({"staff_verification": "sometimes"}, "RESOLVER_STAFF_VERIFICATION"),
        ({"staff_verification": "required"}, "RESOLVER_STAFF_FILE"),
        ({"staff_max_failures": 0}, "RESOLVER_STAFF_MAX_FAILURES"),
        ({"staff_lockout_seconds": 0}, "RESOLVER_STAFF_LOCKOUT_SECONDS"),
        ({"staff_code_drift": 11}, "RESOLVER_STAFF_CODE_DRIFT"),
        ({"client_ipv6_prefix": 16}, "RESOLVER_CLIENT_IPV6_PREFIX"),
        ({"client_ipv6_prefix": 129}, "RESOLVER_CLIENT_IPV6_PREFIX"),
    ],
)
def test_a_bad_setting_is_reported_by_its_variable_name(
    values: dict[str, object], variable: str
) -> None:
    """The start-up message names the environment variable to fix."""
    with pytest.raises(ValidationError) as caught:
        make(**values)
    assert variable in describe_error(caught.value)


def test_secrets_do_not_show_in_the_settings_repr() -> None:
    """Secrets are SecretStr: printing settings never prints them."""
    settings = make(passkit_api_key="k", passkit_api_secret="very-secret", api_token="tok")
    assert "very-secret" not in repr(settings)
    assert "tok" not in str(settings.api_token)


def test_the_longest_lease_outlasts_the_worst_attempt() -> None:
    """Five exchanges of connect retries and answer (a token, a read, a write, a read-back of
    two), and a margin: 100 s with the default timeouts."""
    settings = make(upstream_timeout=10, upstream_connect_timeout=3)
    assert settings.longest_lease_seconds == 5 * (3 * 3 + 10) + 5


async def test_the_longest_lease_is_that_of_the_back_end_whose_redeem_takes_longest(
    redis_url: str,
) -> None:
    """The sandbox's demo routes to every back end: none needs a longer lease, one as long."""
    settings = make(upstream="sandbox", passkit_base_url="http://sandbox.test")
    async with httpx.AsyncClient() as http:
        wiring = Wiring(http, SharedTokens(Redis.from_url(redis_url)))
        router = build_router(settings, None, wiring)
    leases = {policy(settings, router).lease_for(provider) for provider in router.providers}
    assert len(leases) > 1
    assert max(leases) == settings.longest_lease_seconds


def test_secrets_can_come_from_files_in_a_mounted_directory(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Docker/Kubernetes secrets: one file per variable in RESOLVER_SECRETS_DIR."""
    (tmp_path / "RESOLVER_PASSKIT_API_KEY").write_text("key-from-file")
    (tmp_path / "RESOLVER_PASSKIT_API_SECRET").write_text("secret-from-file")
    monkeypatch.setenv("RESOLVER_SECRETS_DIR", str(tmp_path))
    settings = load_settings(_env_file=None)
    assert settings.passkit_api_key == "key-from-file"
    assert settings.passkit_api_secret is not None
    assert settings.passkit_api_secret.get_secret_value() == "secret-from-file"
    assert settings.upstream == "passkit"


def test_the_screens_have_sensible_defaults() -> None:
    """120 live seconds, English, a readable dark blue, no logo and no support link."""
    settings = make()
    assert settings.live_seconds == 120
    assert settings.default_language == "en"
    assert (settings.brand_name, settings.brand_color) == ("Coupons", "#1f4e8c")
    assert settings.brand_logo is None
    assert settings.support_url is None


def test_the_default_language_choices_are_the_catalogued_languages() -> None:
    """RESOLVER_DEFAULT_LANGUAGE accepts exactly the languages that have a catalogue."""
    annotation = Settings.model_fields["default_language"].annotation
    assert get_args(annotation) == LANGUAGES


def test_brand_colours_are_normalised() -> None:
    """Short and upper-case hex colours become #rrggbb."""
    assert make(brand_color="#FA0").brand_color == "#ffaa00"
    assert make(brand_color="#0B6E4F").brand_color == "#0b6e4f"


def test_a_logo_is_a_small_image_file_or_an_https_url(tmp_path: Path) -> None:
    """A file path is resolved and checked for kind and size; an https URL is kept as is."""
    logo = tmp_path / "logo.svg"
    logo.write_text('<svg xmlns="http://www.w3.org/2000/svg"/>')
    assert make(brand_logo=str(logo)).brand_logo == str(logo.resolve())
    url = "https://cdn.example.com/logo.png"
    assert make(brand_logo=url).brand_logo == url
    logo.write_bytes(b" " * (MAX_LOGO_BYTES + 1))
    with pytest.raises(ValidationError) as caught:
        make(brand_logo=str(logo))
    assert "RESOLVER_BRAND_LOGO" in describe_error(caught.value)


def test_a_copied_env_example_starts_the_demo(tmp_path: Path) -> None:
    """Blank values in a .env copied from .env.example mean unset, so start-up works."""
    env = tmp_path / ".env"
    env.write_text((Path(__file__).resolve().parent.parent / ".env.example").read_text())
    settings = Settings(_env_file=env)
    assert settings.upstream == "sandbox"
    assert settings.redis_url is None


def test_staff_verification_is_off_by_default_with_sensible_limits() -> None:
    """Off; 5 wrong codes per coupon and 20 per client IP in 15 minutes; one step of drift."""
    settings = make()
    assert settings.staff_verification == "off"
    assert settings.staff_file is None
    assert (settings.staff_max_failures, settings.staff_max_failures_per_ip) == (5, 20)
    assert (settings.staff_lockout_seconds, settings.staff_code_drift) == (900, 1)
    assert settings.capture_location is False


def test_the_staff_file_path_is_not_read_by_the_settings(tmp_path: Path) -> None:
    """It may not exist yet (`resolver staff add-store` creates it); start-up reads it."""
    path = tmp_path / "later" / "staff.toml"
    settings = make(staff_verification="required", staff_file=str(path))
    assert settings.staff_file == str(path)


def test_each_redis_topology_has_its_default_of_replica_acks() -> None:
    """A claim waits for a replica with Sentinel, never with one server or a Cluster."""
    expected = {
        "redis://localhost:6379/0": (0, "standalone"),
        "redis+sentinel://s1:26379,s2:26379/shop": (1, "sentinel"),
        "redis+cluster://n1:7000,n2:7001": (0, "cluster"),
    }
    for url, (acks, topology) in expected.items():
        settings = Settings(_env_file=None, redis_url=url)
        assert (settings.replica_acks, settings.redis_topology) == (acks, topology)
    chosen = Settings(_env_file=None, redis_url="redis://h", redis_replica_acks=2)
    assert chosen.replica_acks == 2


SECRET = "whsec_" + "c2FuZGJveC1kZW1vLXdlYmhvb2stc2VjcmV0LTAwMDA="


def test_webhook_endpoints_come_as_json_with_their_own_secrets_and_filters(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """RESOLVER_WEBHOOKS: a JSON list; "*" unless an endpoint names its event types."""
    hooks = [
        {"name": "make", "url": "https://hook.example/1", "secret": SECRET},
        {"name": "crm", "url": "https://crm.example/", "secret": SECRET,
         "events": ["coupon.redeemed"]},
    ]  # fmt: skip
    monkeypatch.setenv("RESOLVER_WEBHOOKS", json.dumps(hooks))
    settings = load_settings(_env_file=None)
    make, crm = settings.webhooks
    assert make.wants("coupon.expired")
    assert (crm.wants("coupon.redeemed"), crm.wants("coupon.expired")) == (True, False)
    assert SECRET.removeprefix("whsec_") not in repr(settings)


def test_webhook_endpoints_may_come_from_a_mounted_secret_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The list holds secrets: a file named RESOLVER_WEBHOOKS in RESOLVER_SECRETS_DIR."""
    hooks = [{"name": "crm", "url": "https://crm.example/", "secret": SECRET}]
    (tmp_path / "RESOLVER_WEBHOOKS").write_text(json.dumps(hooks))
    monkeypatch.setenv("RESOLVER_SECRETS_DIR", str(tmp_path))
    assert [hook.name for hook in load_settings(_env_file=None).webhooks] == ["crm"]


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"secret": "whsec_c2hvcnQ="}, "24 to 64"),
        ({"secret": "not-a-whsec-secret-at-all-but-long"}, "whsec_"),
        ({"events": ["coupon.eaten"]}, "coupon.eaten"),
        ({"url": "ftp://x"}, "https://"),
    ],
)
def test_a_bad_webhook_endpoint_is_named_by_its_place_not_its_secret(
    change: dict[str, object], problem: str
) -> None:
    """Start-up says which endpoint and field is wrong, and never echoes a secret."""
    hook = {"name": "crm", "url": "https://crm.example/", "secret": SECRET} | change
    with pytest.raises(ValidationError) as caught:
        make(webhooks=json.dumps([hook]))
    message = describe_error(caught.value)
    assert problem in message
    assert "c2hvcnQ" not in message
    assert "not-a-whsec" not in message
