"""The `resolver` command: serve · link · staff · sandbox · bench · check · probe · forget ·
coupon · audit · events.

`resolver serve` with nothing configured is a complete local demo: it starts a private Redis
and the sandbox beside the service and prints links to try (`demo`). Anything configured in the
environment (or `.env`) replaces the embedded part, which is how production runs it. Each
command is a module here that adds its parser; `sandbox` and `bench` hand over to the
repository's own packages, installed with the dev dependencies.
"""

from __future__ import annotations

import argparse
from importlib.metadata import version
from typing import TYPE_CHECKING

from resolver.cli import audit, check, coupon, events, forget, links, probe, serve, staff, tools

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
    for command in (serve, links, staff, tools, check, probe, forget, coupon, audit, events):
        command.add(commands)
    return parser
