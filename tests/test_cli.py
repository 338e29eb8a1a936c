"""The `resolver` command line."""

from __future__ import annotations

import subprocess
import sys

import pytest

from resolver.cli import build_parser, main


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
