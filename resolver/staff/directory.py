"""The staff file: which stores and employees may verify a redemption, and which campaigns ask.

A TOML file (RESOLVER_STAFF_FILE, e.g. a mounted secret), written by `resolver staff …` and
readable by people; see the README's "Staff verification" section for a full example:

    [campaigns]                      # per-campaign policy, overriding RESOLVER_STAFF_VERIFICATION
    summer-2026 = "required"

    [stores.paris-01]
    name = "Paris Opéra"
    code_secret = "…"                # base32 TOTP secret: the store's rotating code (optional)
    code_step = 600                  # seconds per code

    [stores.paris-01.employees.ana]
    name = "Ana"
    pin_hash = "$argon2id$v=19$…"    # never the PIN itself

It is read once at start-up and validated strictly (unknown keys included); every problem is
reported by its place in the file and never by its value, which may be a secret.
"""

from __future__ import annotations

import re
import tomllib
from typing import TYPE_CHECKING, Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)

from resolver.domain.errors import StaffFileError
from resolver.domain.ids import ID_PATTERN, MAX_ID_LENGTH
from resolver.domain.redemptions import Attribution, VerificationPolicy
from resolver.staff.credentials import DEFAULT_STEP, PinChecker, PinHash, StoreCode
from resolver.validation import Strict, problems

if TYPE_CHECKING:
    from collections.abc import Mapping
    from datetime import datetime
    from pathlib import Path

STAFF_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,39}")


def _staff_id(value: str) -> str:
    if not STAFF_ID.fullmatch(value):
        raise ValueError("an id is 1 to 40 letters, digits, '.', '_' or '-'")
    return value


StaffId = Annotated[str, AfterValidator(_staff_id)]
CampaignId = Annotated[
    str, StringConstraints(pattern=f"^{ID_PATTERN.pattern}$", max_length=MAX_ID_LENGTH)
]


def _plain(name: str) -> str:
    name = " ".join(name.split())
    if not 1 <= len(name) <= 60 or not name.isprintable():
        raise ValueError("must be 1 to 60 printable characters")
    return name


Name = Annotated[str, AfterValidator(_plain)]


def _timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError("is not an IANA time zone, e.g. Europe/Paris") from None
    return value


TimeZone = Annotated[str, AfterValidator(_timezone)]


def _pin_hash(value: str) -> str:
    PinHash.parse(value)
    return value


class EmployeeEntry(Strict):
    """An employee: a display name and the hash of their PIN."""

    name: Name | None = None
    pin_hash: Annotated[str, AfterValidator(_pin_hash)]

    @model_validator(mode="before")
    @classmethod
    def _no_clear_pin(cls, data: Any) -> Any:
        if isinstance(data, dict) and "pin" in data:
            raise ValueError(
                "holds a PIN in clear: delete it and set it with `resolver staff add-employee`"
            )
        return data


class StoreEntry(Strict):
    """A store: a display name, its employees, and optionally a rotating code."""

    name: Name | None = None
    code_secret: Annotated[str, AfterValidator(StoreCode.check_secret)] | None = None
    code_step: int = Field(default=DEFAULT_STEP, ge=30, le=86_400)
    # The counter view's clock; without it, each row is shown in its offer's time zone.
    timezone: TimeZone | None = None
    employees: dict[StaffId, EmployeeEntry] = Field(default_factory=dict)


class StaffFile(Strict):
    """The whole file."""

    campaigns: dict[CampaignId, VerificationPolicy] = Field(default_factory=dict)
    stores: dict[StaffId, StoreEntry] = Field(default_factory=dict)


class StaffDirectory:
    """Who may verify, as loaded from the staff file; answers "whose code is this?"."""

    def __init__(self, spec: StaffFile) -> None:
        self.spec = spec
        self.campaigns: Mapping[str, VerificationPolicy] = spec.campaigns
        self._codes: list[tuple[Attribution, StoreCode]] = []
        self._people: list[Attribution] = []
        hashes: list[PinHash] = []
        for store_id, store in spec.stores.items():
            store_name = store.name or store_id
            if store.code_secret:
                code = StoreCode(store.code_secret, store.code_step)
                self._codes.append((Attribution(store_id, store_name), code))
            for employee_id, employee in store.employees.items():
                self._people.append(
                    Attribution(store_id, store_name, employee_id, employee.name or employee_id)
                )
                hashes.append(PinHash.parse(employee.pin_hash))
        self._pins = PinChecker(hashes)
        _refuse_shared_pins(self._people, hashes)

    @property
    def can_verify(self) -> bool:
        """True when at least one store has a code or one employee a PIN."""
        return bool(self._codes or self._people)

    def policy(self, campaign_id: str, default: VerificationPolicy) -> VerificationPolicy:
        return self.campaigns.get(campaign_id, default)

    def employee(self, store_id: str, employee_id: str) -> EmployeeEntry | None:
        store = self.spec.stores.get(store_id)
        return store.employees.get(employee_id) if store else None

    def pin_hashes(self, except_for: tuple[str, str] | None = None) -> list[PinHash]:
        """Every employee's PIN hash but `except_for`'s (store id, employee id)."""
        return [
            PinHash.parse(employee.pin_hash)
            for store_id, store in self.spec.stores.items()
            for employee_id, employee in store.employees.items()
            if (store_id, employee_id) != except_for
        ]

    def code(self, store_id: str) -> StoreCode | None:
        """The store's rotating code, when it has one."""
        store = self.spec.stores.get(store_id)
        if store is None or not store.code_secret:
            return None
        return StoreCode(store.code_secret, store.code_step)

    def by_store_code(self, code: str, moment: datetime, drift: int) -> Attribution | None:
        """The store whose code of `moment` (± `drift` steps) is `code`."""
        for store, store_code in self._codes:
            if store_code.verify(code, moment, drift):
                return store
        return None

    async def by_pin(self, code: str) -> Attribution | None:
        """The employee whose PIN is `code` (one slow hash, off the event loop)."""
        index = await self._pins.find(code)
        return None if index is None else self._people[index]


def _refuse_shared_pins(people: list[Attribution], hashes: list[PinHash]) -> None:
    """A PIN must name one employee; equal hashes (same salt, same PIN) would name two.

    (`resolver staff add-employee` also refuses a PIN hashed with another salt.)
    """
    seen: dict[PinHash, Attribution] = {}
    for person, pin in zip(people, hashes, strict=True):
        other = seen.setdefault(pin, person)
        if other is not person:
            raise StaffFileError(
                f"stores.{other.store_id}.employees.{other.employee_id} and "
                f"stores.{person.store_id}.employees.{person.employee_id} have the same PIN; "
                "give one of them another with `resolver staff add-employee --replace`"
            )


def parse(text: str) -> StaffDirectory:
    """A staff file's text as a directory; StaffFileError lists every problem."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise StaffFileError(f"not valid TOML: {error}") from None
    try:
        return StaffDirectory(StaffFile.model_validate(data))
    except ValidationError as error:
        raise StaffFileError(describe(error)) from None


def load(path: Path, default: VerificationPolicy = "off") -> StaffDirectory:
    """Read and validate the staff file at `path` for a deployment whose policy is `default`;
    the error names the file and the problem."""
    where = f"staff file {path} (RESOLVER_STAFF_FILE)"
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) else "not UTF-8 text"
        raise StaffFileError(f"{where}: {reason}") from None
    try:
        directory = parse(text)
    except StaffFileError as error:
        raise StaffFileError(f"{where}: {error}") from None
    asked = default != "off" or any(p != "off" for p in directory.campaigns.values())
    if asked and not directory.can_verify:
        raise StaffFileError(
            f"{where}: no store has a code_secret and no employee a PIN, so nobody could "
            "verify a redemption (add them with `resolver staff add-store` / `add-employee`)"
        )
    return directory


def describe(error: ValidationError) -> str:
    """Each problem by its place in the file (`stores.paris.code_step: …`), never its value."""
    lines = [f"{'.'.join(place) or 'the file'}: {message}" for place, message in problems(error)]
    return "\n  " + "\n  ".join(lines)
