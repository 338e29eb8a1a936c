"""The front door stays true: every setting is documented where operators look."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from resolver.providers.accounts import PROVIDERS
from resolver.providers.campaigns import load
from resolver.settings import ENV_PREFIX, Settings
from tests.support.google import service_account_info

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("document", [".env.example", "README.md"])
def test_every_setting_is_documented(document: str) -> None:
    """Each Settings field appears as its RESOLVER_ variable."""
    text = (ROOT / document).read_text()
    missing = [
        f"{ENV_PREFIX}{name.upper()}"
        for name in Settings.model_fields
        if f"{ENV_PREFIX}{name.upper()}" not in text
    ]
    assert not missing, f"{document} does not mention {missing}"


def test_the_readme_says_where_to_read_about_deploying() -> None:
    """A newcomer finds deploy/: the image, the compose file and the production checklist."""
    readme = (ROOT / "README.md").read_text()
    assert "(deploy/README.md)" in readme
    assert "deploy/Dockerfile" in readme
    assert "compose.yaml" in readme


def test_the_env_example_names_only_real_settings() -> None:
    """No stale variable lingers in .env.example."""
    names = {f"{ENV_PREFIX}{name.upper()}" for name in Settings.model_fields}
    for line in (ROOT / ".env.example").read_text().splitlines():
        if line.startswith(ENV_PREFIX):
            assert line.split("=", 1)[0] in names, line


def test_ci_runs_the_readme_test_command() -> None:
    """.ci/run runs exactly the command the README gives for the tests."""
    assert "uv run pytest" in (ROOT / "README.md").read_text()
    assert "uv run pytest" in (ROOT / ".ci" / "run").read_text()


def test_the_readmes_campaigns_file_is_a_valid_one(tmp_path: Path) -> None:
    """The example in "The campaigns file" loads, with its secrets where it says they are."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("### The campaigns file", 1)[1]
    example = section.split("```toml\n", 1)[1].split("```", 1)[0]
    path = tmp_path / "campaigns.toml"
    path.write_text(example)
    (tmp_path / "passworks-paw-planet").write_text("pw-key")
    (tmp_path / "google-wallet-key.json").write_text(
        json.dumps(service_account_info("https://oauth2.googleapis.com/token"))
    )
    variables = ("COFFEE_PASSKIT_SECRET", "SKYCORE_KEY", "INHOUSE_TOKEN", "BADGE_API_KEY")
    environ = {
        "RESOLVER_SECRETS_DIR": str(tmp_path),
        **dict.fromkeys((*variables, "MAKE_API_KEY"), "s3cret"),
    }
    config = load(path, environ)
    assert {account.provider for account in config.accounts.values()} == set(PROVIDERS)


def test_every_image_the_readme_shows_exists() -> None:
    """Each screenshot the README shows is checked in (they come from the Chromium runs)."""
    readme = (ROOT / "README.md").read_text()
    images = re.findall(r'<img src="([^"]+)"', readme)
    assert images
    assert [image for image in images if not (ROOT / image).is_file()] == []
