"""The `resolver staff …` commands: set up stores and staff, and show a store's current code.

    resolver staff add-store --store paris --name "Paris Opéra" [--step 600] [--no-code]
    resolver staff add-store --store paris --new-code          (a lost phone: a new secret)
    resolver staff add-employee --store paris --employee ana --name "Ana Lima" [--replace]
    resolver staff code --store paris
    resolver staff list
    resolver staff remove --store paris [--employee ana]
    resolver staff campaign --campaign summer-2026 --policy required   (or: default)

PINs are read with getpass, twice, never from an argument
(arguments end up in shell history and process lists), and leave this module only hashed. The
file is RESOLVER_STAFF_FILE unless --file says otherwise; the service reads it at start-up.
"""

from __future__ import annotations

import argparse
import getpass
import io
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import segno

from resolver.domain.errors import StaffFileError
from resolver.staff.credentials import DEFAULT_STEP, PIN, StoreCode, hash_pin, matches
from resolver.staff.directory import STAFF_ID
from resolver.staff.editing import StaffFileEditor
from resolver.startup import settings_or_exit

if TYPE_CHECKING:
    from collections.abc import Callable

    from resolver.settings import Settings
    from resolver.staff.directory import StaffDirectory

RESTART = "Restart the service (or roll out a new version) to load the change."


class CommandError(Exception):
    """Something the operator must fix; said on stderr, exit status 2."""


def run(args: argparse.Namespace, settings: Settings, out: TextIO | None = None) -> int:
    """Run the staff command `args.staff` on the staff file; the exit status."""
    out = out or sys.stdout
    path = args.file or settings.staff_file
    try:
        if not path:
            raise CommandError("set RESOLVER_STAFF_FILE or pass --file PATH")
        command: Callable[[argparse.Namespace, Path, Settings, TextIO], None] = COMMANDS[args.staff]
        command(args, Path(path).expanduser(), settings, out)
    except (CommandError, StaffFileError) as error:
        print(f"resolver staff: {error}", file=sys.stderr)
        return 2
    except OSError as error:
        print(f"resolver staff: {path}: {error.strerror or error}", file=sys.stderr)
        return 2
    return 0


def add_store(args: argparse.Namespace, path: Path, settings: Settings, out: TextIO) -> None:
    editor = StaffFileEditor(path)
    store_id = _id("--store", args.store)
    exists = editor.store(store_id) is not None
    if exists and not args.new_code:
        raise CommandError(
            f"store {store_id} exists; --new-code gives it a new code secret (the old code "
            "stops working)"
        )
    editor.put_store(store_id, args.name)
    secret = None if args.no_code else StoreCode.new_secret()
    known = editor.current.code(store_id) if editor.current else None
    editor.set_code(store_id, secret, args.step or (known.step if known else DEFAULT_STEP))
    staff = editor.save()
    print(f"{'Updated' if exists else 'Added'} store {store_id} in {path}.", file=out)
    if secret is not None:
        _show_code_setup(staff, store_id, settings, out)
    print(RESTART, file=out)


def add_employee(args: argparse.Namespace, path: Path, settings: Settings, out: TextIO) -> None:
    editor = StaffFileEditor(path)
    store_id, employee_id = _id("--store", args.store), _id("--employee", args.employee)
    if editor.store(store_id) is None:
        raise CommandError(f"there is no store {store_id}; add it with `resolver staff add-store`")
    current = editor.loaded()  # every other PIN must be readable, to refuse a PIN in use
    known = current.employee(store_id, employee_id)
    if known is not None and not args.replace:
        raise CommandError(f"{employee_id} exists at {store_id}; --replace sets a new PIN")
    others = current.pin_hashes(except_for=(store_id, employee_id))
    pin = _ask_pin()
    if matches(pin, others):
        raise CommandError("another employee has this PIN; choose another (a PIN names one person)")
    editor.set_employee(store_id, employee_id, args.name, hash_pin(pin, like=others))
    staff = editor.save()
    print(f"{'New PIN for' if known else 'Added'} {employee_id} at {store_id} in {path}.", file=out)
    if staff.code(store_id) is not None:
        print("The store's code, for this employee's authenticator app:", file=out)
        _show_code_setup(staff, store_id, settings, out)
    print(RESTART, file=out)


def code(args: argparse.Namespace, path: Path, settings: Settings, out: TextIO) -> None:
    store_id = _id("--store", args.store)
    store_code = StaffFileEditor(path).loaded().code(store_id)
    if store_code is None:
        raise CommandError(f"store {store_id} has no rotating code (`add-store --new-code`)")
    now = datetime.now(UTC)
    print(store_code.at(now), file=out)
    left = store_code.seconds_left(now)
    print(f"{store_id}: valid for {left // 60} min {left % 60:02d} s more", file=sys.stderr)


def list_staff(args: argparse.Namespace, path: Path, settings: Settings, out: TextIO) -> None:
    staff = StaffFileEditor(path).loaded()
    for campaign, policy in staff.campaigns.items():
        print(f"campaign {campaign}: {policy}", file=out)
    for store_id, store in staff.spec.stores.items():
        rotating = f"code every {store.code_step} s" if store.code_secret else "no code"
        print(f"store {store_id} ({store.name or store_id}): {rotating}", file=out)
        for employee_id, employee in store.employees.items():
            print(f"  employee {employee_id} ({employee.name or employee_id})", file=out)


def remove(args: argparse.Namespace, path: Path, settings: Settings, out: TextIO) -> None:
    editor = StaffFileEditor(path)
    what = f"{args.employee} at {args.store}" if args.employee else f"store {args.store}"
    if not editor.remove(args.store, args.employee):
        raise CommandError(f"there is no {what}")
    editor.save()
    print(f"Removed {what} from {path}.", file=out)
    print(RESTART, file=out)


def campaign(args: argparse.Namespace, path: Path, settings: Settings, out: TextIO) -> None:
    editor = StaffFileEditor(path)
    policy = None if args.policy == "default" else args.policy
    editor.set_campaign(args.campaign, policy)
    editor.save()
    shown = policy or f"the deployment's ({settings.staff_verification})"
    print(f"Campaign {args.campaign}: {shown}.", file=out)
    print(RESTART, file=out)


COMMANDS = {
    "add_store": add_store,
    "add_employee": add_employee,
    "code": code,
    "list": list_staff,
    "remove": remove,
    "campaign": campaign,
}


def _show_code_setup(staff: StaffDirectory, store_id: str, settings: Settings, out: TextIO) -> None:
    """The provisioning URI and its QR code, for an authenticator app."""
    store_code = staff.code(store_id)
    assert store_code is not None
    name = staff.spec.stores[store_id].name or store_id
    uri = store_code.provisioning_uri(name, settings.brand_name)
    qr = io.StringIO()
    segno.make(uri, error="m").terminal(out=qr, compact=True, border=2)
    print(
        f"Scan this with an authenticator app that honours the code's period ({store_code.step} "
        "s), then check that it shows what `resolver staff code` prints: an app that ignores "
        "the period shows a new code every 30 s, and those codes will not work.",
        file=out,
    )
    print(qr.getvalue(), end="", file=out)
    key = " ".join(store_code.secret[i : i + 4] for i in range(0, len(store_code.secret), 4))
    print(f"or enter the key {key} (time-based, {store_code.step} s, 6 digits, SHA1),", file=out)
    print(f"or open {uri}", file=out)


def _ask_pin() -> str:
    pin = getpass.getpass("PIN (6 to 12 digits): ")
    if not PIN.fullmatch(pin):
        raise CommandError("a PIN is 6 to 12 digits")
    if getpass.getpass("The same PIN again: ") != pin:
        raise CommandError("the two PINs differ; nothing was changed")
    return pin


def _id(option: str, value: str) -> str:
    if not STAFF_ID.fullmatch(value):
        raise CommandError(f"{option}: an id is 1 to 40 letters, digits, '.', '_' or '-'")
    return value


def add(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """`resolver staff …`: the parsers of the commands above."""
    staff_cmd = commands.add_parser(
        "staff", help="set up the stores and staff who may verify redemptions"
    )
    staff_cmd.set_defaults(run=lambda _: _usage(staff_cmd))
    actions = staff_cmd.add_subparsers(title="staff commands")
    file_option = argparse.ArgumentParser(add_help=False)
    file_option.add_argument("--file", help="the staff file (default: RESOLVER_STAFF_FILE)")

    def action(name: str, command: str, help_text: str) -> argparse.ArgumentParser:
        parser = actions.add_parser(name, parents=[file_option], help=help_text)
        parser.set_defaults(run=_run, staff=command)
        return parser

    add_store = action("add-store", "add_store", "add a store; print its code's QR for an app")
    add_store.add_argument("--store", required=True, help="the store's id, e.g. paris-01")
    add_store.add_argument("--name", help="the name staff and members see")
    add_store.add_argument(
        "--step", type=int, help="seconds each code lasts, 30-86400 (default: as it was, or 600)"
    )
    codes = add_store.add_mutually_exclusive_group()
    codes.add_argument("--no-code", action="store_true", help="PINs only, no rotating code")
    codes.add_argument(
        "--new-code", action="store_true", help="give an existing store a new code secret"
    )
    employee = action("add-employee", "add_employee", "add an employee and ask for their PIN")
    employee.add_argument("--store", required=True)
    employee.add_argument("--employee", required=True, help="the employee's id, e.g. ana")
    employee.add_argument("--name", help="the name on receipts, e.g. Ana Lima")
    employee.add_argument("--replace", action="store_true", help="set a new PIN for them")
    code = action("code", "code", "print a store's current code")
    code.add_argument("--store", required=True)
    action("list", "list", "list campaigns' policies, stores and employees (no secrets)")
    remove = action("remove", "remove", "remove an employee, or a whole store")
    remove.add_argument("--store", required=True)
    remove.add_argument("--employee")
    campaign = action("campaign", "campaign", "set a campaign's own verification policy")
    campaign.add_argument("--campaign", required=True)
    campaign.add_argument(
        "--policy", required=True, choices=["off", "optional", "required", "default"]
    )


def _run(args: argparse.Namespace) -> int:
    return run(args, settings_or_exit())


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2
