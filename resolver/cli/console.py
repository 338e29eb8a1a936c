"""What the commands print for a person: on stderr, so that stdout stays their output."""

from __future__ import annotations

import sys


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def display_host(host: str) -> str:
    """A host a browser can open: the loopback address for "every interface"."""
    return "127.0.0.1" if host in ("0.0.0.0", "::", "") else host  # noqa: S104  # a comparison
