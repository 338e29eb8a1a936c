"""The `resolver` command line."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib.metadata import version
from typing import TYPE_CHECKING

import pytest
from resolver_bench import processes

from resolver.cli import build_parser, main
from tests.support.deploy import container_command

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping
    from pathlib import Path

    from resolver_bench.processes import Child

# Far longer than a refusal takes; a command that serves instead fails the test by timing out.
REFUSAL_TIMEOUT_S = 20
CREDENTIALS = {
    "RESOLVER_PASSKIT_API_KEY": "key",
    "RESOLVER_PASSKIT_API_SECRET": "secret-of-at-least-32-bytes!!!!",
}
SECRET = {"RESOLVER_SECRET_KEY": "a-secret-key"}
CONTAINER = [*container_command()[:3], "--port", "0"]  # uvicorn on the app factory


def test_python_dash_m_resolver_is_the_command() -> None:
    """`python -m resolver --help` lists the commands."""
    done = subprocess.run(
        [sys.executable, "-m", "resolver", "--help"], capture_output=True, text=True, check=True
    )
    assert "serve" in done.stdout
    assert "sandbox" in done.stdout
    assert "bench" in done.stdout


def test_serve_accepts_host_port_and_workers() -> None:
    """The documented options parse."""
    args = build_parser().parse_args(["serve", "--host", "::1", "--port", "9", "--workers", "2"])
    assert (args.host, args.port, args.workers) == ("::1", 9, 2)


def test_a_bad_setting_stops_start_up_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Exit status 2 and a message that names RESOLVER_REDEEM_MODE."""
    monkeypatch.setenv("RESOLVER_REDEEM_MODE", "maybe")
    with pytest.raises(SystemExit) as stopped:
        main(["serve"])
    assert stopped.value.code == 2
    assert "RESOLVER_REDEEM_MODE" in capsys.readouterr().err


def test_bench_refuses_nonsense_sizes(capsys: pytest.CaptureFixture[str]) -> None:
    """Zero requests exits 2 with a message, before anything is started."""
    with pytest.raises(SystemExit) as stopped:
        main(["bench", "--requests", "0"])
    assert stopped.value.code == 2
    assert "--requests" in capsys.readouterr().err


def test_version_prints_the_installed_version() -> None:
    """`resolver --version` says which resolver this is."""
    done = subprocess.run(
        [sys.executable, "-m", "resolver", "--version"], capture_output=True, text=True, check=True
    )
    assert done.stdout == f"resolver {version('resolver')}\n"


def refused(command: list[str], settings: Mapping[str, str], workdir: Path) -> str:
    """Run `python -m <command>` with exactly `settings`; expect exit 2 and answer its one line."""
    done = subprocess.run(  # noqa: S603  # our own interpreter and argv, no shell
        [sys.executable, "-m", *command],
        env=processes.child_environment(settings),
        cwd=workdir,  # no .env
        capture_output=True,
        text=True,
        timeout=REFUSAL_TIMEOUT_S,
        check=False,
    )
    lines = done.stderr.strip().splitlines()
    assert (done.returncode, len(lines)) == (2, 1), done.stderr
    assert lines[0].startswith("resolver: ")
    return lines[0]


def serve_command() -> list[str]:
    return ["resolver", "serve", "--port", str(processes.free_port())]


def test_serve_with_credentials_and_no_redis_url_stops_instead_of_using_an_embedded_one(
    tmp_path: Path,
) -> None:
    """Real coupons never run on a private Redis that forgets every claim when it stops."""
    line = refused(serve_command(), {**CREDENTIALS, **SECRET}, tmp_path)
    assert line.startswith("resolver: RESOLVER_REDIS_URL is not set: ")


def test_serve_with_a_campaigns_file_and_no_redis_url_stops(tmp_path: Path) -> None:
    """A campaigns file means real coupons too."""
    campaigns = tmp_path / "campaigns.toml"
    campaigns.write_text(
        'default = "coffee"\n[accounts.coffee]\nprovider = "passkit"\n'
        'token = { env = "COFFEE_TOKEN" }\n'
    )
    settings = {"RESOLVER_CAMPAIGNS_FILE": str(campaigns), "COFFEE_TOKEN": "t", **SECRET}
    line = refused(serve_command(), settings, tmp_path)
    assert line.startswith("resolver: RESOLVER_REDIS_URL is not set: ")


def test_serve_with_credentials_and_no_secret_key_stops(redis_url: str, tmp_path: Path) -> None:
    """A secret created in Redis is lost with Redis, and replicas would then disagree."""
    settings = {**CREDENTIALS, "RESOLVER_REDIS_URL": redis_url}
    line = refused(serve_command(), settings, tmp_path)
    assert line.startswith("resolver: RESOLVER_SECRET_KEY is not set: ")


def test_serve_stops_in_one_line_before_the_demo_banner_when_redis_does_not_answer(
    tmp_path: Path,
) -> None:
    """No banner and no traceback: the address, the reason and the variable to check."""
    settings = {"RESOLVER_REDIS_URL": f"unix://{tmp_path}/absent.sock"}
    line = refused(serve_command(), settings, tmp_path)
    assert line.startswith(f"resolver: Redis at {tmp_path}/absent.sock does not answer (")
    assert "RESOLVER_REDIS_URL" in line


def test_the_container_command_with_nothing_set_names_the_settings_to_set(
    tmp_path: Path,
) -> None:
    """The credentials or campaigns file, not a RESOLVER_UPSTREAM nobody set."""
    line = refused(CONTAINER, {}, tmp_path)
    assert "RESOLVER_PASSKIT_API_KEY" in line
    assert "RESOLVER_CAMPAIGNS_FILE" in line
    assert "RESOLVER_UPSTREAM" not in line


def test_the_container_command_without_a_redis_url_stops_in_one_line(tmp_path: Path) -> None:
    """The factory has no embedded Redis to fall back on."""
    line = refused(CONTAINER, {**CREDENTIALS, **SECRET}, tmp_path)
    assert line.startswith("resolver: RESOLVER_REDIS_URL is not set: ")


def test_the_container_command_names_a_bad_setting_in_one_line(tmp_path: Path) -> None:
    """The same message `resolver serve` gives, and the same exit status."""
    line = refused(CONTAINER, {"RESOLVER_REDEEM_MODE": "maybe"}, tmp_path)
    assert line.startswith("resolver: invalid configuration: RESOLVER_REDEEM_MODE: ")
    assert line == refused(serve_command(), {"RESOLVER_REDEEM_MODE": "maybe"}, tmp_path)


def test_the_container_command_stops_in_one_line_when_redis_does_not_answer(
    tmp_path: Path,
) -> None:
    """The same line as `resolver serve`'s."""
    settings = {**CREDENTIALS, **SECRET, "RESOLVER_REDIS_URL": f"unix://{tmp_path}/absent.sock"}
    line = refused(CONTAINER, settings, tmp_path)
    assert line.startswith(f"resolver: Redis at {tmp_path}/absent.sock does not answer (")


def test_a_bad_staff_file_stops_serve_and_the_container_command_in_the_same_line(
    redis_url: str, tmp_path: Path
) -> None:
    """The file and the problem in it, before anything starts, from either command."""
    staff_file = tmp_path / "staff.toml"
    staff_file.write_text("[stores.paris-01]\nname = 42\n")
    settings = {
        **CREDENTIALS,
        **SECRET,
        "RESOLVER_REDIS_URL": redis_url,
        "RESOLVER_STAFF_FILE": str(staff_file),
        "RESOLVER_STAFF_VERIFICATION": "required",
    }
    line = refused(CONTAINER, settings, tmp_path)
    assert line.startswith(f"resolver: staff file {staff_file} (RESOLVER_STAFF_FILE): ")
    assert line == refused(serve_command(), settings, tmp_path)


@pytest.fixture
def started(redis_url: str, tmp_path: Path) -> Iterator[list[Child]]:
    """Processes a test starts, stopped whatever happens."""
    children: list[Child] = []
    yield children
    for child in children:
        child.stop()


UNSAFE = {**CREDENTIALS, **SECRET, "RESOLVER_REDEEM_MOD": "instant"}
WARNINGS = [
    "RESOLVER_API_TOKEN is not set",
    "RESOLVER_LINK_KEYS is not set",
    "RESOLVER_REDEEM_MOD is not a setting and is ignored; did you mean RESOLVER_REDEEM_MODE?",
]


def test_serve_warns_once_whatever_the_number_of_workers(
    redis_url: str, tmp_path: Path, started: list[Child]
) -> None:
    """An open API, unsigned links and a misspelt variable: each said once, by the parent."""
    settings = {
        **UNSAFE,
        "RESOLVER_REDIS_URL": redis_url,
        "RESOLVER_PASSKIT_BASE_URL": "http://127.0.0.1:9",
    }
    serve = processes.serve(tmp_path, settings, workers=2)
    started.append(serve)
    serve.start()
    processes.wait_for_workers(redis_url, 2)
    output = serve.output()
    assert [output.count(warning) for warning in WARNINGS] == [1, 1, 1], output


def test_the_container_command_warns_once(
    redis_url: str, tmp_path: Path, started: list[Child]
) -> None:
    """The same warnings from the app factory."""
    settings = {
        **UNSAFE,
        "RESOLVER_REDIS_URL": redis_url,
        "RESOLVER_PASSKIT_BASE_URL": "http://127.0.0.1:9",
    }
    container = processes.container(tmp_path, settings, container_command())
    started.append(container)
    container.start()
    output = container.output()
    assert [output.count(warning) for warning in WARNINGS] == [1, 1, 1], output


def json_lines(output: str) -> list[dict[str, object]]:
    """Every line of `output` as JSON; fails on the first line that is not."""
    return [json.loads(line) for line in output.splitlines()]


@pytest.mark.parametrize("container", [False, True], ids=["serve", "container"])
def test_every_line_from_start_to_stop_is_a_json_line(
    container: bool, redis_url: str, tmp_path: Path, started: list[Child]
) -> None:
    """uvicorn's start-up and shutdown lines come out as JSON, like the service's own."""
    settings = {
        **CREDENTIALS,
        **SECRET,
        "RESOLVER_REDIS_URL": redis_url,
        "RESOLVER_PASSKIT_BASE_URL": "http://127.0.0.1:9",
        "RESOLVER_LOG_FORMAT": "json",
    }
    child = (
        processes.container(tmp_path, settings, container_command())
        if container
        else processes.serve(tmp_path, settings, workers=2)
    )
    started.append(child)
    child.start()
    child.stop()
    events = [line["event"] for line in json_lines(child.output())]
    assert "Application startup complete." in events
    assert "Shutting down" in events
