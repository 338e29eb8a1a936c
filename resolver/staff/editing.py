"""Changes to the staff file, as the `resolver staff …` commands make them.

tomlkit keeps what a person wrote (comments, order, spacing) when a command adds a store or an
employee to a file edited by hand. Every change is validated exactly as start-up will read it
before it is written, and written atomically (a temporary file beside it, then a rename) with
permissions 0600 for a new file (an existing file keeps its own): a half-written or invalid file
never replaces a good one.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from typing import TYPE_CHECKING, cast

import tomlkit
import tomlkit.exceptions
from tomlkit.items import Table

from resolver.domain.errors import StaffFileError
from resolver.staff import directory

if TYPE_CHECKING:
    from pathlib import Path

    from resolver.domain.redemptions import VerificationPolicy
    from resolver.staff.directory import StaffDirectory

HEADER = """\
resolver staff file (RESOLVER_STAFF_FILE): who may verify redemptions at the counter.
Keep it secret: it holds each store's code secret. PINs are kept as argon2id hashes only.
Change it with `resolver staff …` (or by hand), then restart the service to load it.
"""
CAMPAIGNS_NOTE = (
    'campaign-id = "off" | "optional" | "required"  (overrides RESOLVER_STAFF_VERIFICATION)'
)


class StaffFileEditor:
    """The staff file at `path` (new when missing), changed in memory until `save`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.current: StaffDirectory | None = None
        # Why the file as it is cannot be loaded; a change (say, removing one of two employees
        # who share a PIN) may still fix it, and `save` checks the result either way.
        self.problem: StaffFileError | None = None
        if not path.exists():
            self.doc = _new_document()
            return
        try:
            self.doc = tomlkit.parse(path.read_text(encoding="utf-8"))
        except tomlkit.exceptions.ParseError as error:
            raise StaffFileError(f"{path}: not valid TOML: {error}") from None
        try:
            self.current = directory.parse(self.doc.as_string())
        except StaffFileError as error:
            self.problem = error

    def store(self, store_id: str) -> Table | None:
        stores = self.doc.get("stores")
        found = stores.get(store_id) if isinstance(stores, Table) else None
        return found if isinstance(found, Table) else None

    def loaded(self) -> StaffDirectory:
        """The file as it is, which must exist and be valid."""
        if self.problem is not None:
            raise StaffFileError(f"{self.path}: {self.problem}")
        if self.current is None:
            raise StaffFileError(
                f"{self.path} does not exist; begin with `resolver staff add-store`"
            )
        return self.current

    def put_store(self, store_id: str, name: str | None) -> None:
        """Add the store, or rename it when it exists and `name` is given."""
        store = self.store(store_id)
        if store is None:
            store = tomlkit.table()
            self._table(self.doc, "stores")[store_id] = store
        if name:
            store["name"] = name

    def set_code(self, store_id: str, secret: str | None, step: int) -> None:
        store = self._existing(store_id)
        if secret is None:
            for key in ("code_secret", "code_step"):
                store.pop(key, None)
            return
        store["code_secret"] = secret
        store["code_step"] = step

    def set_employee(
        self, store_id: str, employee_id: str, name: str | None, pin_hash: str
    ) -> None:
        employees = self._table(self._existing(store_id), "employees")
        employee = employees.get(employee_id)
        if not isinstance(employee, Table):
            employee = tomlkit.table()
            employees[employee_id] = employee
        if name:
            employee["name"] = name
        employee["pin_hash"] = pin_hash

    def remove(self, store_id: str, employee_id: str | None = None) -> bool:
        """Remove an employee (or, without one, the whole store); False when there was none."""
        store = self.store(store_id)
        if store is None:
            return False
        if employee_id is None:
            cast("Table", self.doc["stores"]).remove(store_id)
            return True
        employees = store.get("employees")
        if not isinstance(employees, Table) or employee_id not in employees:
            return False
        employees.remove(employee_id)
        return True

    def set_campaign(self, campaign_id: str, policy: VerificationPolicy | None) -> None:
        """Set a campaign's own policy, or with None drop it (the deployment's applies)."""
        campaigns = self._table(self.doc, "campaigns")
        if policy is None:
            campaigns.pop(campaign_id, None)
        else:
            campaigns[campaign_id] = policy

    def save(self) -> StaffDirectory:
        """Validate the changed file as start-up will, then replace the old one atomically."""
        text = self.doc.as_string()
        checked = directory.parse(text)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=".staff-", dir=self.path.parent)
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as file:  # mkstemp makes it 0600
                file.write(text)
            if self.path.exists():  # keep what the operator chose (e.g. readable by a group)
                os.chmod(temporary, stat.S_IMODE(self.path.stat().st_mode))
            os.replace(temporary, self.path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)
            raise
        self.current = checked
        return checked

    def _existing(self, store_id: str) -> Table:
        store = self.store(store_id)
        if store is None:
            raise KeyError(store_id)
        return store

    @staticmethod
    def _table(parent: Table | tomlkit.TOMLDocument, key: str) -> Table:
        found = parent.get(key)
        if isinstance(found, Table):
            return found
        table = tomlkit.table(is_super_table=True)
        parent[key] = table
        return table


def _new_document() -> tomlkit.TOMLDocument:
    doc = tomlkit.document()
    for line in HEADER.splitlines():
        doc.add(tomlkit.comment(line))
    doc.add(tomlkit.nl())
    campaigns = tomlkit.table()
    campaigns.add(tomlkit.comment(CAMPAIGNS_NOTE))
    doc["campaigns"] = campaigns
    return doc
