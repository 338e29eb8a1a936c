"""`resolver serve`: run the service, with the demo's embedded parts when nothing is configured."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from typing import TYPE_CHECKING

import structlog

from resolver import startup
from resolver.startup import settings_or_exit

if TYPE_CHECKING:
    import argparse


def add(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    serve_cmd = commands.add_parser("serve", help="run the service (embedded defaults for a demo)")
    serve_cmd.add_argument("--host", help="interface to listen on (RESOLVER_HOST)")
    serve_cmd.add_argument("--port", type=int, help="port to listen on (RESOLVER_PORT)")
    serve_cmd.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    serve_cmd.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from resolver import logs  # noqa: PLC0415  # only serve needs uvicorn
    from resolver.cli import demo, serving  # noqa: PLC0415  # only serve needs uvicorn
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
        # Before anything imports prometheus_client: the workers' metrics directory, and
        # the port serving their sum (resolver.observability.exposition).
        from resolver.observability import exposition  # noqa: PLC0415

        exposition.prepare_workers(settings, stack)
        # uvicorn's workers are processes of their own that read their settings from the
        # environment they inherit: that is the one way to hand them the demo's parts.
        os.environ.update(demo.start(settings, stack))
        return serving.run(serving.server_config(settings, args.workers))


def _exit_cleanly(signum: int, frame: object) -> None:
    raise SystemExit(0)
