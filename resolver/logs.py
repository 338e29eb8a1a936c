"""structlog configuration: JSON lines in production, readable lines on a terminal.

uvicorn's own lines (start-up, shutdown, errors) are rendered the same way, so a log collector
sees one format.

Context variables come first so every line carries the request id and the coupon's keyed hash
that the request bound. Raw ids, query strings, tokens and secrets are never passed to a logger;
as a second line of defence, any field whose name looks secret is masked before rendering.
"""

from __future__ import annotations

import json
import logging
import sys
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Literal

import orjson
import structlog

if TYPE_CHECKING:
    from collections.abc import MutableMapping

SECRET_WORDS = ("secret", "token", "password", "authorization", "api_key", "apikey", "sig")
UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi")


def mask_secrets(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for name in event:
        if _looks_secret(name):
            event[name] = "***"
    return event


@lru_cache(maxsize=1024)
def _looks_secret(name: str) -> bool:
    # Field names come from the code, a few dozen of them: each is looked at once.
    return any(word in name.lower() for word in SECRET_WORDS)


class _StandardError:
    """`sys.stderr` as it is when a line is written, not when logging was configured.

    Logging is configured once per process (and again by each app), but whoever runs the
    service may swap `sys.stderr` later (a test runner capturing output, an embedding program):
    a file object bound at configuration would be written to after it was closed. Written by
    hand because structlog's and the stdlib's loggers both take a file, not a way to find one.
    """

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()

    def isatty(self) -> bool:
        return sys.stderr.isatty()


STDERR = _StandardError()


def json_line(event: Any, *, default: Any = None, **_: Any) -> str:
    """A line's JSON by orjson (a tenth of the standard library's CPU, on every request's
    line); a value orjson refuses (an integer past 64 bits) falls back to the standard library.
    `default` is structlog's: a value neither knows is written as its `repr`."""
    try:
        return orjson.dumps(event, default=default, option=orjson.OPT_NON_STR_KEYS).decode()
    except orjson.JSONEncodeError:
        return json.dumps(event, default=default)


def configure(
    level: str = "info", fmt: Literal["auto", "json", "console"] = "auto", stream: Any = None
) -> None:
    """Configure structlog, and render stdlib logging (uvicorn's own lines) the same way.

    Called by `resolver serve` before it starts uvicorn and by every app it creates, so it
    holds for the container's plain `uvicorn … --factory` too, whose logging uvicorn has set up
    before the app exists: uvicorn's own handlers give way to one on the root logger.
    """
    stream = stream or STDERR
    as_json = fmt == "json" or (fmt == "auto" and not stream.isatty())
    renderer: Any = (
        structlog.processors.JSONRenderer(serializer=json_line)
        if as_json
        else structlog.dev.ConsoleRenderer(colors=stream.isatty())
    )
    numeric = logging.getLevelNamesMapping()[level.upper()]
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        mask_secrets,
        structlog.processors.format_exc_info,
    ]
    structlog.configure(
        processors=[*shared, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(stream),
        cache_logger_on_first_use=False,
    )
    route_stdlib_logging(stream, shared, renderer, numeric)
    # httpx logs every request's URL at INFO, and our URLs carry raw external ids.
    for noisy in ("httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


class _Handler(logging.StreamHandler[Any]):
    """The root logger's handler this module installs (and replaces when configured again)."""


def route_stdlib_logging(stream: Any, shared: list[Any], renderer: Any, level: int) -> None:
    """Every stdlib log record, uvicorn's included, rendered by structlog onto `stream`."""
    handler = _Handler(stream)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[structlog.stdlib.add_logger_name, *shared],
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
        )
    )
    root = logging.getLogger()
    for old in [old for old in root.handlers if isinstance(old, _Handler)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(max(level, logging.INFO))
    for name in UVICORN_LOGGERS:
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.setLevel(level)
        # The app writes one canonical line per request: uvicorn's access lines never show.
        logger.propagate = name != "uvicorn.access"
