"""Where a worker's CPU goes: py-spy samples of the workers during a run, sorted into the parts
of the stack a request passes through.

py-spy (a sampling profiler from PyPI) reads the workers' Python stacks from outside, a few
hundred times a second, without pausing them (`--nonblocking`); a sample is taken only while a
thread runs, so an idle event loop waiting on its sockets counts for nothing. It needs ptrace
rights over the workers: run as root, or where `kernel.yama.ptrace_scope` is 0.

Each sample goes to one part. Libraries that do a whole job for us own every sample taken below
them (a JSON encoding inside the log renderer is logging; one inside httpx is the upstream
client); otherwise the innermost frame that names a part decides (a `json.dumps` called by the
claim store is JSON). Redis's own time running the Lua scripts is not in the workers: the
benchmark reports Redis's CPU beside this table.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import signal
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence
RATE = 250  # samples per second per worker
STOP_TIMEOUT_S = 20.0

# (part, pattern on a frame's "function (file:line)"). Owners first: any frame of theirs in a
# stack claims the sample. Then, from the innermost frame out, the first frame that matches.
OWNERS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("Redis pub/sub (settle notices)", re.compile(r"\(resolver/storage/notifier\.py")),
    ("logging", re.compile(r"\((structlog|logging)/|\(resolver/logs\.py")),
    ("templates", re.compile(r"\((jinja2|markupsafe|babel)/|\(resolver/web/rendering\.py")),
    (
        "Redis client",
        re.compile(
            r"\(redis/|\(hiredis|^_written \(resolver/storage/redis\.py"
            r"|\(resolver/storage/(pools|writes)\.py"
        ),
    ),
    (
        "upstream client",
        re.compile(
            r"\((httpx|httpcore|h11|anyio|jwt|ssl)[/.]|\(resolver/providers/http1(_connection)?\.py"
        ),
    ),
)
INNERMOST: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("JSON", re.compile(r"\((json/|orjson)|\(resolver/web/answers\.py|_dict \(resolver/domain")),
    ("HTTP parsing (uvicorn, httptools)", re.compile(r"\((uvicorn|httptools)/")),
    (
        "settings and services lookup",
        re.compile(r"\((pydantic|pydantic_core)/|settings\.py|services\.py"),
    ),
    ("middleware", re.compile(r"\(resolver/web/(middleware|misses)\.py|\(starlette/middleware/")),
    ("routing and requests (Starlette)", re.compile(r"\(starlette/")),
    ("redemption use case and storage", re.compile(r"\(resolver/(redemption|storage|domain)/")),
    ("providers (request building, answers)", re.compile(r"\(resolver/providers/")),
    ("endpoints and web helpers", re.compile(r"\(resolver/")),
    ("event loop (asyncio, uvloop)", re.compile(r"\((asyncio|uvloop|selectors|contextvars)[/.]")),
)
OTHER = "other"


@dataclass(frozen=True, slots=True)
class Profile:
    """Samples per part, most first, and the stacks behind them."""

    samples: int
    parts: list[tuple[str, int]]
    top: list[tuple[str, int]]  # innermost frames with the most samples

    def share(self, count: int) -> float:
        return 100.0 * count / self.samples if self.samples else 0.0


def part_of(frames: Sequence[str]) -> str:
    """The part a sample belongs to; `frames` outermost first, as py-spy writes them."""
    for part, pattern in OWNERS:
        if any(pattern.search(frame) for frame in frames):
            return part
    for frame in reversed(frames):
        for part, pattern in INNERMOST:
            if pattern.search(frame):
                return part
    return OTHER


def summarise(lines: Iterable[str], top: int = 15) -> Profile:
    """A profile from py-spy's raw (collapsed) lines: `frame;frame;... count`."""
    parts: Counter[str] = Counter()
    leaves: Counter[str] = Counter()
    for line in lines:
        stack, _, count = line.rstrip("\n").rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = stack.split(";")
        parts[part_of(frames)] += int(count)
        leaves[frames[-1]] += int(count)
    return Profile(sum(parts.values()), parts.most_common(), leaves.most_common(top))


def find_py_spy() -> str:
    # On PATH, or beside this interpreter (a virtual environment's bin, not activated).
    binary = shutil.which("py-spy") or shutil.which("py-spy", path=str(Path(sys.executable).parent))
    if binary is None:
        raise RuntimeError("--profile needs py-spy on PATH (it is in the dev dependencies)")
    return binary


class Sampler:
    """py-spy recording each of `pids` into `workdir` until `stop`."""

    def __init__(self, pids: Sequence[int], workdir: Path, label: str) -> None:
        self._binary = find_py_spy()
        self.folder = workdir
        self._outputs = [workdir / f"profile-{label}-{pid}.txt" for pid in pids]
        self._pids = pids
        self._children: list[subprocess.Popen[bytes]] = []
        self._logs = [workdir / f"profile-{label}-{pid}.stderr" for pid in pids]

    def __enter__(self) -> Sampler:
        for pid, output, log in zip(self._pids, self._outputs, self._logs, strict=True):
            with log.open("wb") as stderr:
                self._children.append(
                    subprocess.Popen(  # noqa: S603  # py-spy from PATH, our own arguments
                        [self._binary, "record", "--pid", str(pid), "--rate", str(RATE),
                         "--format", "raw", "--nonblocking", "--output", str(output)],
                        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr,
                    )
                )  # fmt: skip
        return self

    def __exit__(self, *_: object) -> None:
        for child in self._children:
            if child.poll() is None:
                child.send_signal(signal.SIGINT)  # py-spy writes its file on Ctrl+C
        for child in self._children:
            try:
                child.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()

    def profile(self) -> Profile:
        """The samples of every worker, summed; raises with py-spy's words if none came."""
        lines: list[str] = []
        for output in self._outputs:
            with contextlib.suppress(FileNotFoundError):
                lines += output.read_text().splitlines()
        if not lines:
            said = " ".join(log.read_text(errors="replace").strip() for log in self._logs)
            raise RuntimeError(f"py-spy recorded nothing (is ptrace allowed?): {said[-500:]}")
        return summarise(lines)
