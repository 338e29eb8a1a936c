"""The `resolver` command: serve · sandbox · link · bench · staff.

`resolver serve` with nothing configured is a complete local demo: it starts a private Redis
and the PassKit sandbox beside the service and prints links to try. Anything configured in the
environment (or `.env`) replaces the embedded part, which is how production runs it.
`resolver bench` starts its own sandbox, Redis and serve, and measures serve under load.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from pydantic import ValidationError

from resolver.settings import Settings, describe_error, load_settings

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


def settings_or_exit(**overrides: Any) -> Settings:
    """Settings from the environment plus explicit overrides; exits naming any bad variable."""
    try:
        return load_settings(
            **{name: value for name, value in overrides.items() if value is not None}
        )
    except ValidationError as error:
        print(f"resolver: {describe_error(error)}", file=sys.stderr)
        raise SystemExit(2) from None


def serve(args: argparse.Namespace) -> int:
    from resolver import serving  # noqa: PLC0415  # only the serve command needs uvicorn
    from resolver.embedded import EmbeddedRedis  # noqa: PLC0415

    settings = settings_or_exit(host=args.host, port=args.port)
    if args.workers < 1:
        print("resolver: --workers must be at least 1", file=sys.stderr)
        return 2
    if not campaigns_file_ok(settings):
        return 2
    # uvicorn drains requests on SIGTERM, then raises the signal again for the handler found
    # before it started. Python's default for SIGTERM ends the process on the spot, before
    # the `with` below stops the embedded Redis and sandbox and removes their files.
    signal.signal(signal.SIGTERM, _exit_cleanly)
    if settings.staff_file:  # each worker reads it again; this says what is wrong just once
        from resolver.exceptions import StaffFileError  # noqa: PLC0415
        from resolver.staff import directory  # noqa: PLC0415

        try:
            directory.load(Path(settings.staff_file), settings.staff_verification)
        except StaffFileError as error:
            print(f"resolver: {error}", file=sys.stderr)
            return 2
    with contextlib.ExitStack() as stack:
        if settings.redis_url is None:
            redis = stack.enter_context(EmbeddedRedis())
            os.environ["RESOLVER_REDIS_URL"] = redis.url
            say(
                f"Redis: embedded at {redis.url} (private, in memory, for local use only; "
                "set RESOLVER_REDIS_URL in production)"
            )
        if settings.upstream == "sandbox" and settings.passkit_base_url is None:
            from resolver.sandbox.server import start_in_thread  # noqa: PLC0415

            sandbox_server = start_in_thread("127.0.0.1", 0)
            stack.callback(sandbox_server.stop)
            os.environ["RESOLVER_PASSKIT_BASE_URL"] = sandbox_server.url
            os.environ["RESOLVER_UPSTREAM"] = "sandbox"
            say_sandbox_banner(sandbox_server.url, settings)
        return serving.run(serving.server_config(settings, args.workers))


def link(args: argparse.Namespace) -> int:
    from resolver import passlinks  # noqa: PLC0415
    from resolver.exceptions import InvalidLink  # noqa: PLC0415
    from resolver.models import Link  # noqa: PLC0415
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


def campaigns_file_ok(settings: Settings) -> bool:
    """Whether the campaigns file (if any) loads; says what is wrong when it does not.

    Each worker loads it again; checking here first stops `serve` before any worker starts.
    """
    from resolver import campaigns  # noqa: PLC0415
    from resolver.exceptions import ConfigurationError  # noqa: PLC0415

    if settings.campaigns_file is None:
        return True
    try:
        say(campaigns.load(settings.campaigns_file).describe())
    except ConfigurationError as error:
        print(f"resolver: {error}", file=sys.stderr)
        return False
    return True


def _exit_cleanly(signum: int, frame: object) -> None:
    raise SystemExit(0)


def staff(args: argparse.Namespace) -> int:
    from resolver.staff import commands  # noqa: PLC0415  # only the staff commands need it

    return commands.run(args, settings_or_exit())


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def sandbox(args: argparse.Namespace) -> int:
    from resolver.sandbox.server import serve as serve_sandbox  # noqa: PLC0415

    say(
        f"Sandbox on http://{args.host}:{args.port}: PassKit, Passworks, Skycore, Google Wallet "
        "and generic back ends, simulated (no real coupons). Admin API under /_sandbox/."
    )
    serve_sandbox(args.host, args.port, latency_ms=args.latency_ms)
    return 0


def bench(args: argparse.Namespace) -> int:
    from resolver.bench.report import problems, render  # noqa: PLC0415  # only bench needs it
    from resolver.bench.runner import Options, run  # noqa: PLC0415

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


def say_sandbox_banner(url: str, settings: Settings) -> None:
    from resolver.sandbox import DEMO  # noqa: PLC0415

    base = f"http://{display_host(settings.host)}:{settings.port}"
    rule = "=" * 72
    lines = [
        rule,
        "SANDBOX MODE: no PassKit credentials are set, so this talks to a built-in",
        f"simulator of PassKit at {url}. No real coupons are touched.",
        "Set RESOLVER_PASSKIT_API_KEY and RESOLVER_PASSKIT_API_SECRET to use PassKit.",
        "",
        "Try the member's flow (open in a browser):",
    ]
    for label, external_id in (
        ("unredeemed  ", DEMO.unredeemed),
        ("redeemed    ", DEMO.redeemed),
        ("expired     ", DEMO.expired),
        ("no coupon   ", DEMO.unknown),
    ):
        query = urlencode({"externalId": external_id, "campaignId": DEMO.campaign_id})
        lines.append(f"  {label}{base}/redeem?{query}")
    query = urlencode({"externalId": DEMO.unredeemed, "campaignId": DEMO.campaign_id})
    lines += [
        "",
        "Or the JSON API:",
        f"  curl -X POST '{base}/api/v1/redeem?{query}'",
        f"Reset the demo data: curl -X POST {url}/_sandbox/reset",
        "",
        "Every other simulated back end serves the same coupons in its own demo campaign:",
    ]
    for backend, campaign in DEMO.other_campaigns.items():
        query = urlencode({"externalId": DEMO.unredeemed, "campaignId": campaign})
        lines.append(f"  {backend:<12}{base}/redeem?{query}")
    lines += [
        "(their APIs are simulated under /passworks, /skycore, /walletobjects, /generic)",
        rule,
    ]
    say("\n".join(lines))


def display_host(host: str) -> str:
    return "127.0.0.1" if host in ("0.0.0.0", "::", "") else host  # noqa: S104  # a comparison


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
