"""The staff file: read once, validated strictly, every problem named by its place."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pytest

from resolver.domain.errors import StaffFileError
from resolver.domain.redemptions import Attribution
from resolver.staff import directory
from tests.support.staff import PIN, STORE_SECRET, pin_hashes, staff_toml, store_code

if TYPE_CHECKING:
    from pathlib import Path

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
PARIS = Attribution("paris", "Paris Opéra")


def test_a_valid_file_names_its_stores_employees_and_campaign_policies() -> None:
    """Campaign overrides, a store code and two employees' PINs."""
    staff = directory.parse(staff_toml({"camp-1": "required", "camp-2": "off"}))
    assert staff.can_verify
    assert staff.policy("camp-1", "off") == "required"
    assert staff.policy("camp-2", "required") == "off"
    assert staff.policy("camp-3", "optional") == "optional"
    assert staff.by_store_code(store_code(NOW), NOW, drift=1) == PARIS
    assert staff.by_store_code("000000", NOW, drift=1) is None


async def test_a_pin_names_its_employee_and_their_store() -> None:
    """Ana's PIN is Ana at Paris Opéra; a wrong PIN is nobody."""
    staff = directory.parse(staff_toml())
    assert await staff.by_pin(PIN) == Attribution("paris", "Paris Opéra", "ana", "Ana Lima")
    assert await staff.by_pin("123456") is None


def test_names_default_to_ids() -> None:
    """A hand-written store or employee without a name is shown by its id."""
    staff = directory.parse(f'[stores.s1]\ncode_secret = "{STORE_SECRET}"\n')
    assert staff.by_store_code(store_code(NOW), NOW, drift=0) == Attribution("s1", "s1")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("[stores.s1\n", "not valid TOML"),
        (
            '[stores.s1.employees.e1]\npin = "908190"\n',
            "stores.s1.employees.e1: holds a PIN in clear",
        ),
        ('[stores.s1.employees.e1]\npin_hash = "908190"\n', "pin_hash: is not an argon2id hash"),
        ('[stores."two words"]\n', "an id is 1 to 40 letters"),
        ('[stores.s1]\ncode_secret = "SHORT!"\n', "stores.s1.code_secret: is not a base32"),
        ('[stores.s1]\ncode_secret = "JBSWY3DP"\n', "code_secret: is shorter than 16 bytes"),
        ("[stores.s1]\ncode_step = 5\n", "stores.s1.code_step: Input should be greater"),
        ('[stores.s1]\nnmae = "typo"\n', "stores.s1.nmae: Extra inputs are not permitted"),
        ('[stores.s1]\ntimezone = "Mars/Olympus"\n', "stores.s1.timezone: is not an IANA"),
        ('[campaigns]\ncamp-1 = "sometimes"\n', "campaigns.camp-1: Input should be 'off'"),
        ('[campaigns]\n"a/b" = "off"\n', "campaigns.a/b.[key]"),
    ],
)
def test_a_bad_file_is_refused_naming_the_place_and_never_the_value(
    text: str, problem: str
) -> None:
    """Every problem by its place; a value, which may be a PIN or a secret, is never repeated."""
    with pytest.raises(StaffFileError) as refused:
        directory.parse(text)
    assert problem in str(refused.value)
    assert "908190" not in str(refused.value)


def test_two_employees_with_the_same_pin_are_refused() -> None:
    """A PIN must name one employee."""
    ana, _ = pin_hashes()
    text = (
        f'[stores.a.employees.x]\npin_hash = "{ana}"\n[stores.b.employees.y]\npin_hash = "{ana}"\n'
    )
    both = r"stores\.a\.employees\.x and stores\.b\.employees\.y"
    with pytest.raises(StaffFileError, match=both):
        directory.parse(text)


def test_loading_names_the_file_and_the_setting(tmp_path: Path) -> None:
    """A missing or unreadable file says which file and which variable point at it."""
    missing = tmp_path / "nope.toml"
    with pytest.raises(StaffFileError, match=r"nope.toml \(RESOLVER_STAFF_FILE\): No such file"):
        directory.load(missing)
    binary = tmp_path / "staff.toml"
    binary.write_bytes(b"\xff\xfe")
    with pytest.raises(StaffFileError, match="not UTF-8"):
        directory.load(binary)


def test_a_policy_nobody_can_satisfy_is_refused(tmp_path: Path) -> None:
    """Verification asked for (globally or by a campaign) with no code and no PIN anywhere."""
    empty = tmp_path / "staff.toml"
    empty.write_text('[stores.s1]\nname = "No means yet"\n')
    assert not directory.load(empty).can_verify  # fine while nothing asks for it
    with pytest.raises(StaffFileError, match="nobody could verify"):
        directory.load(empty, "required")
    empty.write_text('[campaigns]\ncamp-1 = "optional"\n')
    with pytest.raises(StaffFileError, match="nobody could verify"):
        directory.load(empty)
