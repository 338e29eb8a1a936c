"""Start-up checks: what stops start-up in one line, and what is only warned about."""

from __future__ import annotations

from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

import pytest
from starlette.applications import Starlette

from resolver.domain.errors import ConfigurationError, StoreUnavailable
from resolver.settings import Settings
from resolver.startup import OneLineStartupFailure, check, check_redis, one_line, warnings

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path

    from starlette.types import Message

CREDENTIALS = {"passkit_api_key": "key", "passkit_api_secret": "secret-of-at-least-32-bytes!!!!"}
REDIS = {"redis_url": "redis://redis.test:6379/0"}
SECRET = {"secret_key": "a-secret-key"}


def make(**values: Any) -> Settings:
    return Settings(_env_file=None, **values)


@pytest.mark.parametrize("embedded", [True, False])
def test_real_coupons_without_a_redis_url_are_refused(embedded: bool) -> None:
    """PassKit credentials never run on a private in-memory Redis, not even under serve."""
    with pytest.raises(ConfigurationError, match=r"^RESOLVER_REDIS_URL is not set: "):
        check(make(**CREDENTIALS, **SECRET), embedded=embedded)


def test_a_campaigns_file_without_a_redis_url_is_refused(tmp_path: Path) -> None:
    """A campaigns file means real coupons too."""
    campaigns = tmp_path / "campaigns.toml"
    campaigns.write_text("")  # read by create_app, not by the check
    with pytest.raises(ConfigurationError, match=r"^RESOLVER_REDIS_URL is not set: "):
        check(make(campaigns_file=campaigns, **SECRET), embedded=True)


def test_real_coupons_without_a_secret_key_are_refused() -> None:
    """Without a configured secret, a Redis that loses its data would give replicas new keys."""
    with pytest.raises(ConfigurationError, match=r"^RESOLVER_SECRET_KEY is not set: "):
        check(make(**CREDENTIALS, **REDIS), embedded=True)


def test_the_demo_needs_nothing_under_serve() -> None:
    """With nothing configured, serve starts its own Redis, sandbox and secret."""
    check(make(), embedded=True)


def test_the_app_factory_never_starts_without_a_redis_url() -> None:
    """The container has no embedded Redis to fall back on, even for an external sandbox."""
    settings = make(upstream="sandbox", passkit_base_url="http://sandbox.test")
    with pytest.raises(ConfigurationError, match=r"^RESOLVER_REDIS_URL is not set: "):
        check(settings, embedded=False)


def test_the_app_factory_with_no_back_end_names_the_settings_to_set() -> None:
    """Not the RESOLVER_UPSTREAM nobody set, but the credentials or campaigns file to give."""
    with pytest.raises(ConfigurationError) as refused:
        check(make(**REDIS), embedded=False)
    assert "RESOLVER_PASSKIT_API_KEY" in str(refused.value)
    assert "RESOLVER_CAMPAIGNS_FILE" in str(refused.value)
    assert "RESOLVER_UPSTREAM" not in str(refused.value)


@pytest.mark.parametrize(
    "values",
    [{**CREDENTIALS}, {**CREDENTIALS, **REDIS}, {**REDIS}, {"upstream": "sandbox", **REDIS}],
)
def test_each_refusal_is_one_line(values: dict[str, Any]) -> None:
    """What to fix fits on one line of a log."""
    with pytest.raises(ConfigurationError) as refused:
        check(make(**values), embedded=False)
    assert "\n" not in str(refused.value)


def test_a_files_list_of_problems_becomes_one_line() -> None:
    """Each problem still named by its place, on the line a log keeps."""
    problems = "campaigns file c.toml is invalid:\n  default: no account x\n  accounts: empty"
    assert one_line(problems) == (
        "campaigns file c.toml is invalid: default: no account x; accounts: empty"
    )


def test_a_redis_that_does_not_answer_is_named_without_its_password() -> None:
    """The address and the reason, one line, and never the URL's credentials."""
    settings = make(redis_url="redis://user:hunter2@127.0.0.1:1/0", redis_timeout=0.5)
    with pytest.raises(StoreUnavailable) as refused:
        check_redis(settings)
    message = str(refused.value)
    assert message.startswith("Redis at 127.0.0.1:1 does not answer (")
    assert "RESOLVER_REDIS_URL" in message
    assert "hunter2" not in message
    assert "\n" not in message


def test_an_open_api_and_unsigned_links_are_warned_about_with_real_coupons() -> None:
    """Both are allowed, and both are said out loud."""
    found = warnings(make(**CREDENTIALS, **REDIS, **SECRET), [])
    assert [warning.split(":")[0] for warning in found] == [
        "RESOLVER_API_TOKEN is not set",
        "RESOLVER_LINK_KEYS is not set",
    ]


def test_a_protected_api_and_signed_links_give_no_warning() -> None:
    """Nothing to say once a token and link keys are set."""
    settings = make(**CREDENTIALS, api_token="token", link_keys="k1:0123456789abcdef0123")
    assert warnings(settings, []) == []


def test_the_demo_is_not_warned_about_its_open_api() -> None:
    """The sandbox touches no real coupon."""
    assert warnings(make(), []) == []


def test_a_misspelt_variable_is_named_with_the_setting_it_resembles() -> None:
    """RESOLVER_REDEEM_MOD is ignored today: say so, and suggest RESOLVER_REDEEM_MODE."""
    assert warnings(make(), ["RESOLVER_REDEEM_MOD", "PATH"]) == [
        "RESOLVER_REDEEM_MOD is not a setting and is ignored; did you mean RESOLVER_REDEEM_MODE?"
    ]


def test_settings_and_the_other_known_variables_are_not_warned_about() -> None:
    """Every setting, the secrets directory and the test suite's own variables are known."""
    names = ["RESOLVER_REDEEM_MODE", "resolver_port", "RESOLVER_SECRETS_DIR"]
    assert warnings(make(), [*names, "RESOLVER_TEST_REDIS_URL", "RESOLVER_FUZZ_EXAMPLES"]) == []


async def test_a_start_up_refused_on_purpose_reaches_the_server_in_one_line() -> None:
    """uvicorn logs the failure's message: the problem, not Starlette's traceback."""

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        raise ConfigurationError("campaigns file x.toml: accounts.a.api_key: not set")
        yield  # pragma: no cover

    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "lifespan.startup"}

    async def send(message: Message) -> None:
        sent.append(message)

    app = OneLineStartupFailure(Starlette(lifespan=lifespan))
    with pytest.raises(ConfigurationError):
        await app({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}, receive, send)
    assert sent == [
        {
            "type": "lifespan.startup.failed",
            "message": "campaigns file x.toml: accounts.a.api_key: not set",
        }
    ]
