"""Staff files for tests: two stores, one with a rotating code, an employee with a PIN in each."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

from resolver.staff.credentials import PinHash, StoreCode, hash_pin

if TYPE_CHECKING:
    from datetime import datetime
    from pathlib import Path

# Digits base32 receipt ids and nonces never contain (0, 1, 8, 9), so a search of logs and pages
# for them cannot match by accident.
PIN = "908190"
OTHER_PIN = "190809"
STORE_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
STEP = 600


@cache
def pin_hashes() -> tuple[str, str]:
    """Both PINs hashed once per test session (argon2 is slow on purpose), sharing one salt."""
    first = hash_pin(PIN)
    return first, hash_pin(OTHER_PIN, like=[PinHash.parse(first)])


def store_code(at: datetime, step: int = STEP) -> str:
    """The Paris store's code at `at`."""
    return StoreCode(STORE_SECRET, step).at(at)


def staff_toml(
    campaigns: dict[str, str] | None = None, step: int = STEP, timezone: str | None = None
) -> str:
    ana, ben = pin_hashes()
    lines = ["[campaigns]"]
    lines += [f'"{campaign}" = "{policy}"' for campaign, policy in (campaigns or {}).items()]
    lines += [
        "",
        "[stores.paris]",
        'name = "Paris Opéra"',
        f'code_secret = "{STORE_SECRET}"',
        f"code_step = {step}",
        *([f'timezone = "{timezone}"'] if timezone else []),
        "",
        "[stores.paris.employees.ana]",
        'name = "Ana Lima"',
        f'pin_hash = "{ana}"',
        "",
        "[stores.lyon]",
        'name = "Lyon Part-Dieu"',
        "",
        "[stores.lyon.employees.ben]",
        'name = "Ben Okafor"',
        f'pin_hash = "{ben}"',
        "",
    ]
    return "\n".join(lines)


def write_staff_file(
    directory: Path,
    campaigns: dict[str, str] | None = None,
    step: int = STEP,
    timezone: str | None = None,
) -> Path:
    path = directory / "staff.toml"
    path.write_text(staff_toml(campaigns, step, timezone), encoding="utf-8")
    return path
