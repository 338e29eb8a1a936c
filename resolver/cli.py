"""The `resolver` command: serve · sandbox · link · bench · staff.

`resolver serve` with nothing configured is a complete local demo: it starts a private Redis
and the PassKit sandbox beside the service and prints links to try. Anything configured in the
environment (or `.env`) replaces the embedded part, which is how production runs it.
`resolver bench` starts its own sandbox, Redis and serve, and measures serve under load.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
from importlib.metadata import version
from typing import TYPE_CHECKING

import structlog

from resolver import startup
from resolver.demo import display_host
from resolver.startup import settings_or_exit

if TYPE_CHECKING:
    from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> None:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "run"):
        parser.print_help()
        raise SystemExit(2)
    raise SystemExit(args.run(args))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="resolver", description="Redeems the active wallet-pass coupon behind a pass link."
    )
    parser.add_argument("--version", action="version", version=f"resolver {version('resolver')}")
    commands = parser.add_subparsers(title="commands")

    serve_cmd = commands.add_parser("serve", help="run the service (embedded defaults for a demo)")
    serve_cmd.add_argument("--host", help="interface to listen on (RESOLVER_HOST)")
    serve_cmd.add_argument("--port", type=int, help="port to listen on (RESOLVER_PORT)")
    serve_cmd.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    serve_cmd.set_defaults(run=serve)

    link_cmd = commands.add_parser(
        "link", help="print the pass link (template), one member's link, or sign a members CSV"
    )
    link_cmd.add_argument("--campaign", required=True, help="the coupon campaign id")
    link_cmd.add_argument("--external", help="one member's pass id (externalId)")
    link_cmd.add_argument("--base-url", help="public URL of this service (default: host:port)")
    link_cmd.add_argument("--csv", help="a members CSV exported from PassKit ('-' for stdin)")
    link_cmd.add_argument("--id-column", help="the CSV column holding the pass id")
    link_cmd.add_argument("--output", help="where to write the signed CSV (default: stdout)")
    link_cmd.add_argument(
        "--sig-field",
        default="${meta.resolverSig}",
        help="the pass field holding each member's signature, for the template",
    )
    link_cmd.set_defaults(run=link)

    sandbox_cmd = commands.add_parser("sandbox", help="run the simulated back ends' APIs")
    sandbox_cmd.add_argument("--host", default="127.0.0.1")
    sandbox_cmd.add_argument("--port", type=int, default=8100)
    sandbox_cmd.add_argument(
        "--latency-ms", type=float, default=0.0, help="added to every PassKit call"
    )
    sandbox_cmd.set_defaults(run=sandbox)

    bench_cmd = commands.add_parser(
        "bench", help="measure serve under load against the sandbox (starts everything itself)"
    )
    bench_cmd.add_argument("--workers", type=int, default=2, help="serve's workers (default 2)")
    bench_cmd.add_argument(
        "--requests", type=int, default=5000, help="redemptions measured, one per coupon"
    )
    bench_cmd.add_argument(
        "--concurrency", type=int, default=100, help="connections at once (default 100)"
    )
    bench_cmd.add_argument(
        "--latency-ms", type=float, default=50.0, help="the sandbox's latency (default 50)"
    )
    bench_cmd.add_argument(
        "--warmup", type=int, default=1000, help="redemptions before measuring (default 1000)"
    )
    bench_cmd.add_argument("--redis-url", help="use this Redis instead of an embedded one")
    bench_cmd.add_argument(
        "--generator",
        choices=["auto", "wrk", "python"],
        default="auto",
        help="load generator: wrk when on PATH (auto), else the Python client",
    )
    bench_cmd.set_defaults(run=bench)
    add_staff_parsers(commands)
    return parser


def add_staff_parsers(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """`resolver staff …`; the commands themselves live in resolver.staff.commands."""
    staff_cmd = commands.add_parser(
        "staff", help="set up the stores and staff who may verify redemptions"
    )
    staff_cmd.set_defaults(run=lambda _: _usage(staff_cmd))
    actions = staff_cmd.add_subparsers(title="staff commands")
    file_option = argparse.ArgumentParser(add_help=False)
    file_option.add_argument("--file", help="the staff file (default: RESOLVER_STAFF_FILE)")

    def action(name: str, command: str, help_text: str) -> argparse.ArgumentParser:
        parser = actions.add_parser(name, parents=[file_option], help=help_text)
        parser.set_defaults(run=staff, staff=command)
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


def serve(args: argparse.Namespace) -> int:
    from resolver import demo, logs, serving  # noqa: PLC0415  # only serve needs uvicorn
    from resolver.domain.errors import ResolverError  # noqa: PLC0415

    settings = settings_or_exit(host=args.host, port=args.port)
    if args.workers < 1:
        print("resolver: --workers must be at least 1", file=sys.stderr)
        return 2
    logs.configure(settings.log_level, settings.log_format)
    # Checked once, here, before any worker starts (each worker reads the files again).
    try:
        accounts = startup.preflight(settings, embedded=True)
    except ResolverError as problem:
        startup.refuse(str(problem))
    if accounts is not None:
        structlog.get_logger("resolver.cli").info(accounts.describe())
    startup.warn(settings)
    # uvicorn drains requests on SIGTERM, then raises the signal again for the handler found
    # before it started. Python's default for SIGTERM ends the process on the spot, before
    # the `with` below stops the embedded Redis and sandbox and removes their files.
    signal.signal(signal.SIGTERM, _exit_cleanly)
    with contextlib.ExitStack() as stack:
        demo.start(settings, stack)
        return serving.run(serving.server_config(settings, args.workers))


def link(args: argparse.Namespace) -> int:
    from resolver import passlinks  # noqa: PLC0415
    from resolver.domain.coupons import Link  # noqa: PLC0415
    from resolver.domain.errors import InvalidLink  # noqa: PLC0415
    from resolver.web.links import valid_id  # noqa: PLC0415

    settings = settings_or_exit()
    keys = settings.link_keys
    base_url = args.base_url or f"http://{display_host(settings.host)}:{settings.port}"
    if not keys:
        say("note: RESOLVER_LINK_KEYS is not set, so links are not signed")
    try:
        campaign = valid_id("campaignId", args.campaign)
        if args.csv:
            with contextlib.ExitStack() as files:
                source = (
                    sys.stdin
                    if args.csv == "-"
                    else files.enter_context(open(args.csv, newline="", encoding="utf-8-sig"))
                )
                target = (
                    files.enter_context(open(args.output, "w", newline="", encoding="utf-8"))
                    if args.output
                    else sys.stdout
                )
                rows = passlinks.sign_csv(
                    source, target, base_url=base_url, campaign_id=campaign, keys=keys,
                    id_column=args.id_column,
                )  # fmt: skip
            say(f"signed {rows} members; import the resolverSig column as a pass field")
        elif args.external:
            member = Link(campaign, valid_id("externalId", args.external))
            print(passlinks.link(base_url, member, keys))
        else:
            print(passlinks.template(base_url, campaign, keys, args.sig_field))
    except InvalidLink as error:
        say(f"resolver: {error.detail}")
        return 2
    except (ValueError, OSError) as error:
        say(f"resolver: {error}")
        return 2
    return 0


def _exit_cleanly(signum: int, frame: object) -> None:
    raise SystemExit(0)


def staff(args: argparse.Namespace) -> int:
    from resolver.staff import commands  # noqa: PLC0415  # only the staff commands need it

    return commands.run(args, settings_or_exit())


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def sandbox(args: argparse.Namespace) -> int:
    from resolver_sandbox.server import serve as serve_sandbox  # noqa: PLC0415

    say(
        f"Sandbox on http://{args.host}:{args.port}: PassKit, Passworks, Skycore, Google Wallet "
        "and generic back ends, simulated (no real coupons). Admin API under /_sandbox/."
    )
    serve_sandbox(args.host, args.port, latency_ms=args.latency_ms)
    return 0


def bench(args: argparse.Namespace) -> int:
    from resolver_bench.report import problems, render  # noqa: PLC0415  # only bench needs it
    from resolver_bench.runner import Options, run  # noqa: PLC0415

    if min(args.workers, args.requests, args.concurrency) < 1 or args.warmup < 0:
        message = "--workers, --requests and --concurrency must be at least 1, --warmup 0"
        print(f"resolver: {message}", file=sys.stderr)
        return 2
    options = Options(
        workers=args.workers,
        requests=args.requests,
        concurrency=args.concurrency,
        latency_ms=args.latency_ms,
        warmup=args.warmup,
        redis_url=args.redis_url,
        generator=args.generator,
    )
    figures = run(options, say=lambda message: say(f"bench: {message}"))
    print(render(figures), flush=True)
    return 1 if problems(figures) else 0


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
