"""The front door stays true: every setting is documented where operators look."""

from __future__ import annotations

from pathlib import Path

import pytest

from resolver.settings import ENV_PREFIX, Settings

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
