"""The deploy files parse and name only settings that exist (no Docker engine runs here)."""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml

from resolver.settings import ENV_PREFIX, Settings
from tests.support.deploy import DEPLOY, container_command, dockerfile_instructions

SETTINGS = {f"{ENV_PREFIX}{name.upper()}" for name in Settings.model_fields}


@pytest.fixture
def compose() -> dict[str, Any]:
    data = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    assert isinstance(data, dict)
    return data


def test_the_image_installs_dependencies_before_the_project_and_runs_as_non_root() -> None:
    """Dependency layer first (cached), project second, then a non-root user."""
    steps = dockerfile_instructions()
    runs = [i for i, (name, args) in enumerate(steps) if name == "RUN"]
    deps = next(i for i in runs if "--no-install-project" in steps[i][1])
    copy_project = next(
        i for i, (name, args) in enumerate(steps) if name == "COPY" and "resolver" in args
    )
    assert deps < copy_project
    assert "uv sync --locked" in steps[deps][1]
    user = [args for name, args in steps if name == "USER"]
    assert user
    assert user[-1] not in ("root", "0")


def test_the_image_runs_one_uvicorn_process_on_the_app_factory() -> None:
    """CMD is uvicorn on the factory (never the embedded demo), in one process."""
    command = container_command()
    assert command[:3] == ["uvicorn", "resolver.app:app_from_environment", "--factory"]
    assert "--workers" not in command


def test_the_images_graceful_stop_outlasts_the_longest_claim_lease(
    compose: dict[str, Any],
) -> None:
    """A redemption in flight at SIGTERM may take its whole lease; compose waits longer still."""
    command = container_command()
    grace = int(command[command.index("--timeout-graceful-shutdown") + 1])
    assert grace >= Settings(_env_file=None).longest_lease_seconds
    stop_grace = compose["services"]["resolver"]["stop_grace_period"]
    assert int(stop_grace.removesuffix("s")) > grace


def test_the_image_and_compose_name_only_real_settings(compose: dict[str, Any]) -> None:
    """Every RESOLVER_ variable they set is a setting the service reads."""
    names = set(re.findall(r"RESOLVER_[A-Z0-9_]+", (DEPLOY / "Dockerfile").read_text()))
    environment = compose["services"]["resolver"]["environment"]
    names |= set(environment)
    assert names
    assert names <= SETTINGS, names - SETTINGS


def test_compose_runs_redis_without_eviction_and_the_resolver_against_it(
    compose: dict[str, Any],
) -> None:
    """noeviction, persistence, a health check, and the resolver waiting for a healthy Redis."""
    redis = compose["services"]["redis"]
    command = " ".join(redis["command"])
    assert "--maxmemory-policy noeviction" in command
    assert "--appendonly yes" in command
    assert "healthcheck" in redis
    resolver = compose["services"]["resolver"]
    assert resolver["environment"]["RESOLVER_REDIS_URL"] == "redis://redis:6379/0"
    assert resolver["depends_on"]["redis"]["condition"] == "service_healthy"
    assert "/readyz" in " ".join(resolver["healthcheck"]["test"])


def test_the_deploy_readme_gives_the_grace_periods_the_files_set(
    compose: dict[str, Any],
) -> None:
    """The checklist's numbers are the Dockerfile's and compose's, not older ones."""
    command = container_command()
    grace = command[command.index("--timeout-graceful-shutdown") + 1]
    stop_grace = compose["services"]["resolver"]["stop_grace_period"]
    checklist = (DEPLOY / "README.md").read_text()
    assert f"up to {grace} s" in checklist
    assert f"stop_grace_period: {stop_grace}" in checklist


def test_the_image_carries_no_code_of_the_repositorys_tools() -> None:
    """Of packages/ (the sandbox, the bench) the image copies only what uv reads: pyprojects."""
    copied = [args for name, args in dockerfile_instructions() if name == "COPY"]
    tools = [args for args in copied if "packages/" in args]
    assert tools
    assert all(args.split()[0].endswith("/pyproject.toml") for args in tools)
    installs = [
        args for name, args in dockerfile_instructions() if name == "RUN" and "uv sync" in args
    ]
    assert all("--no-dev" in args for args in installs)
