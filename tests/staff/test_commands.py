"""`resolver staff …`: set up stores and staff in a file the service then loads."""

from __future__ import annotations

import re
import stat
import subprocess
import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pytest

from resolver.cli import main
from resolver.staff import directory
from tests.support.staff import PIN, pin_hashes

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path


@pytest.fixture
def staff_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """RESOLVER_STAFF_FILE points at a file that does not exist yet."""
    path = tmp_path / "secrets" / "staff.toml"
    monkeypatch.setenv("RESOLVER_STAFF_FILE", str(path))
    return path


@pytest.fixture
def typed(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """What the operator types at getpass's prompts, in order."""
    answers: list[str] = []
    monkeypatch.setattr("getpass.getpass", lambda prompt="": answers.pop(0))
    yield answers
    assert not answers, "a prompt expected was never shown"


def staff(*args: str) -> int:
    with pytest.raises(SystemExit) as done:
        main(["staff", *args])
    return int(done.value.code or 0)


def test_add_store_writes_a_private_file_and_prints_the_code_setup(
    staff_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A 0600 file the service can load; an otpauth URI with the period, a QR code, the key."""
    assert staff("add-store", "--store", "paris", "--name", "Paris Opéra", "--step", "300") == 0
    out = capsys.readouterr().out
    assert stat.S_IMODE(staff_file.stat().st_mode) == 0o600
    loaded = directory.load(staff_file)
    code = loaded.code("paris")
    assert code is not None
    assert code.step == 300
    uri = re.search(r"otpauth://totp/\S+", out)
    assert uri is not None
    assert f"secret={code.secret}" in uri.group()
    assert "period=300" in uri.group()
    assert "Coupons:Paris%20Op%C3%A9ra" in uri.group()
    assert "▄" in out  # the QR code, in half blocks
    assert "Restart the service" in out


def test_a_new_code_keeps_the_stores_step_unless_told(staff_file: Path) -> None:
    """--new-code replaces the secret; the period the staff's apps know stays as it was."""
    staff("add-store", "--store", "paris", "--step", "30")
    first = directory.load(staff_file).code("paris")
    assert staff("add-store", "--store", "paris", "--new-code") == 0
    second = directory.load(staff_file).code("paris")
    assert first is not None
    assert second is not None
    assert second.secret != first.secret
    assert second.step == 30
    assert staff("add-store", "--store", "paris") == 2  # exists: say so rather than replace


def test_code_prints_the_stores_current_code(
    staff_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """What a manager reads out: the same code the service accepts now."""
    staff("add-store", "--store", "paris")
    capsys.readouterr()
    assert staff("code", "--store", "paris") == 0
    printed = capsys.readouterr()
    code = directory.load(staff_file).code("paris")
    assert code is not None
    now = datetime.now(UTC)
    assert printed.out.strip() in (code.at(now), code.at(now, steps=-1))  # a step may just end
    assert "valid for" in printed.err


def test_add_employee_stores_only_a_hash_of_the_pin_asked_twice(
    staff_file: Path, typed: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """The PIN is read with getpass, confirmed, hashed; the file and the output never hold it."""
    staff("add-store", "--store", "paris", "--name", "Paris Opéra")
    typed += [PIN, PIN]
    assert staff("add-employee", "--store", "paris", "--employee", "ana", "--name", "Ana Lima") == 0
    out = capsys.readouterr().out
    text = staff_file.read_text()
    assert PIN not in text
    assert PIN not in out
    assert "$argon2id$" in text
    assert "otpauth://totp/" in out  # the store's code, for the new employee's phone
    employee = directory.load(staff_file).employee("paris", "ana")
    assert employee is not None
    assert employee.name == "Ana Lima"


@pytest.mark.parametrize(
    ("answers", "problem"),
    [
        (["12345"], "6 to 12 digits"),
        ([PIN, "908191"], "the two PINs differ"),
    ],
)
def test_a_short_or_mistyped_pin_changes_nothing(
    staff_file: Path,
    typed: list[str],
    capsys: pytest.CaptureFixture[str],
    answers: list[str],
    problem: str,
) -> None:
    """Exit status 2, a message, and the file as it was."""
    staff("add-store", "--store", "paris")
    before = staff_file.read_text()
    typed += answers
    assert staff("add-employee", "--store", "paris", "--employee", "ana") == 2
    assert problem in capsys.readouterr().err
    assert staff_file.read_text() == before


def test_a_pin_another_employee_has_is_refused_and_replace_sets_a_new_one(
    staff_file: Path, typed: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """A PIN names one person; --replace gives an existing employee a new PIN."""
    staff("add-store", "--store", "paris", "--no-code")
    typed += [PIN, PIN, PIN, PIN, "112233", "112233"]
    assert staff("add-employee", "--store", "paris", "--employee", "ana") == 0
    assert staff("add-employee", "--store", "paris", "--employee", "ben") == 2
    assert "another employee has this PIN" in capsys.readouterr().err
    assert staff("add-employee", "--store", "paris", "--employee", "ana") == 2
    assert "--replace" in capsys.readouterr().err
    typed.clear()
    typed += ["112233", "112233"]
    assert staff("add-employee", "--store", "paris", "--employee", "ana", "--replace") == 0
    assert directory.load(staff_file).pin_hashes() != []


def test_commands_keep_what_a_person_wrote(staff_file: Path, typed: list[str]) -> None:
    """Comments and hand-written entries survive a command's change (tomlkit)."""
    staff_file.parent.mkdir()
    staff_file.write_text('# Our stores, kept by Jo\n[campaigns]\nvip = "required"  # gold tier\n')
    staff("add-store", "--store", "paris")
    staff("campaign", "--campaign", "summer", "--policy", "optional")
    text = staff_file.read_text()
    assert text.startswith("# Our stores, kept by Jo\n")
    assert 'vip = "required"  # gold tier' in text
    assert directory.load(staff_file).campaigns == {"vip": "required", "summer": "optional"}
    staff("campaign", "--campaign", "vip", "--policy", "default")
    assert directory.load(staff_file).campaigns == {"summer": "optional"}


def test_list_and_remove_show_and_drop_people_but_never_secrets(
    staff_file: Path, typed: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """list names stores and employees only; remove takes one out, or a whole store."""
    staff("add-store", "--store", "paris", "--name", "Paris Opéra")
    typed += [PIN, PIN]
    staff("add-employee", "--store", "paris", "--employee", "ana", "--name", "Ana Lima")
    capsys.readouterr()
    assert staff("list") == 0
    listing = capsys.readouterr().out
    assert "store paris (Paris Opéra): code every 600 s" in listing
    assert "employee ana (Ana Lima)" in listing
    assert "argon2" not in listing
    code = directory.load(staff_file).code("paris")
    assert code is not None
    assert code.secret not in listing
    assert staff("remove", "--store", "paris", "--employee", "ana") == 0
    assert directory.load(staff_file).employee("paris", "ana") is None
    assert staff("remove", "--store", "paris", "--employee", "ana") == 2
    assert staff("remove", "--store", "paris") == 0
    assert not directory.load(staff_file).spec.stores


def test_a_file_start_up_would_refuse_can_still_be_mended(
    staff_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Two employees sharing a PIN (edited by hand): remove one, and the file loads again."""
    ana, _ = pin_hashes()
    staff_file.parent.mkdir()
    staff_file.write_text(
        f'[stores.a.employees.x]\npin_hash = "{ana}"\n[stores.a.employees.y]\npin_hash = "{ana}"\n'
    )
    assert staff("list") == 2
    assert "same PIN" in capsys.readouterr().err
    assert staff("remove", "--store", "a", "--employee", "y") == 0
    assert directory.load(staff_file).employee("a", "x") is not None


def test_without_a_file_the_commands_say_how_to_name_one(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """No RESOLVER_STAFF_FILE and no --file: exit 2 and what to set."""
    monkeypatch.delenv("RESOLVER_STAFF_FILE", raising=False)
    assert staff("list") == 2
    assert "RESOLVER_STAFF_FILE" in capsys.readouterr().err


def test_serve_refuses_a_bad_staff_file_before_starting(
    staff_file: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Exit 2 with the file's problem, before any server or embedded part starts."""
    staff_file.parent.mkdir()
    staff_file.write_text("[stores.paris]\ncode_step = 1\n")
    monkeypatch.setenv("RESOLVER_STAFF_VERIFICATION", "required")
    with pytest.raises(SystemExit) as stopped:
        main(["serve"])
    assert stopped.value.code == 2
    assert "stores.paris.code_step" in capsys.readouterr().err


def test_the_staff_commands_are_on_the_command_line(tmp_path: Path) -> None:
    """`python -m resolver staff add-store` works as a real process, and --help lists them."""
    path = tmp_path / "staff.toml"
    done = subprocess.run(  # noqa: S603  # our own interpreter, a temporary path
        [
            sys.executable,
            "-m",
            "resolver",
            "staff",
            "add-store",
            "--file",
            str(path),
            "--store",
            "s1",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "otpauth://totp/" in done.stdout
    helped = subprocess.run(
        [sys.executable, "-m", "resolver", "staff", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    for command in ("add-store", "add-employee", "code", "list", "remove", "campaign"):
        assert command in helped.stdout
