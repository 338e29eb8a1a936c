"""Logging: the service's lines and uvicorn's come out alike, as JSON lines in production."""

from __future__ import annotations

import io
import json
import logging
import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pytest
import structlog

from resolver import logs

if TYPE_CHECKING:
    from collections.abc import Iterator


@pytest.fixture
def stream() -> Iterator[io.StringIO]:
    """Where the logs configured by a test go; the loggers it touches are put back afterwards."""
    touched = [logging.getLogger(name) for name in ("", *logs.UVICORN_LOGGERS)]
    saved = [(list(log.handlers), log.level, log.propagate) for log in touched]
    yield io.StringIO()
    for log, (handlers, level, propagate) in zip(touched, saved, strict=True):
        log.handlers[:] = handlers
        log.setLevel(level)
        log.propagate = propagate


def lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_uvicorns_own_lines_are_json_lines_like_the_services(stream: io.StringIO) -> None:
    """Start-up, shutdown and errors from uvicorn's loggers: JSON, with a level and a time."""
    logs.configure("info", "json", stream=stream)
    logging.getLogger("uvicorn.error").info("Started server process [%d]", 42)
    logging.getLogger("uvicorn.error").error("Application startup failed. Exiting.")
    structlog.get_logger("resolver.test").info("request", status=200)
    found = lines(stream)
    assert [(line["event"], line["level"]) for line in found] == [
        ("Started server process [42]", "info"),
        ("Application startup failed. Exiting.", "error"),
        ("request", "info"),
    ]
    assert found[0]["logger"] == "uvicorn.error"
    assert all("timestamp" in line for line in found)


def test_a_logged_exception_stays_on_one_json_line(stream: io.StringIO) -> None:
    """A traceback is a field of the line, not lines of its own."""
    logs.configure("info", "json", stream=stream)
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        logging.getLogger("uvicorn.error").exception("Exception in ASGI application")
    (line,) = lines(stream)
    assert line["event"] == "Exception in ASGI application"
    assert "RuntimeError: boom" in str(line["exception"])


def test_uvicorns_own_handlers_give_way(stream: io.StringIO) -> None:
    """The handlers uvicorn's default logging config installs no longer write their own format."""
    logging.getLogger("uvicorn").addHandler(logging.StreamHandler(io.StringIO()))
    logging.getLogger("uvicorn").propagate = False
    logs.configure("info", "json", stream=stream)
    logging.getLogger("uvicorn").info("Shutting down")
    assert [line["event"] for line in lines(stream)] == ["Shutting down"]
    assert logging.getLogger("uvicorn").handlers == []


def test_lines_go_to_the_standard_error_of_the_moment(
    monkeypatch: pytest.MonkeyPatch, stream: io.StringIO
) -> None:
    """Configured with no stream, a line goes to whatever `sys.stderr` is when it is written:
    a stream swapped in and closed since (a captured test's) is never written to."""
    first, second = io.StringIO(), stream
    monkeypatch.setattr(sys, "stderr", first)
    logs.configure(fmt="json")
    first.close()
    monkeypatch.setattr(sys, "stderr", second)
    structlog.get_logger("resolver.test").info("after_the_swap")
    assert json.loads(second.getvalue())["event"] == "after_the_swap"


def test_any_value_makes_a_json_line(stream: io.StringIO) -> None:
    """Whatever a line carries, the line is JSON: values JSON has no type for as text."""
    logs.configure("info", "json", stream=stream)
    when = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
    log = structlog.get_logger("resolver.test")
    log.info("values", when=when, keys={1: "a"}, thing=object, text="é\n")
    log.info("huge", big=2**70)
    values, huge = lines(stream)
    assert values["when"] == "2026-11-27T12:00:00+00:00"
    assert (values["keys"], values["text"]) == ({"1": "a"}, "é\n")
    assert values["thing"] == "<class 'object'>"
    assert huge["big"] == 2**70
