"""Where the machine's CPU went during a run: per part, and the processes behind each part.

On a small machine the load generator, the sandbox, Redis and the workers share the cores, so
the CPU each one spent per redemption says more than throughput alone: it shows whether the
generator had headroom and which part would saturate the cores first.
"""

from __future__ import annotations

import resource
import time
from typing import TYPE_CHECKING

import psutil

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence


def workers_of(serve_pid: int, workers: int) -> list[psutil.Process]:
    """The processes running the app: serve itself with one worker, else its worker children."""
    serve = psutil.Process(serve_pid)
    if workers == 1:
        return [serve]  # uvicorn runs the app in the serve process
    return [child for child in serve.children() if _is_worker(child)]


def redis_servers() -> list[psutil.Process]:
    """The redis-server this process started (the embedded one), if any."""
    return [child for child in psutil.Process().children() if child.name() == "redis-server"]


class CpuClock:
    """CPU seconds spent by each named group of processes, and by the load generator.

    The generator is this process (the Python client) or a child it waited for (wrk), so its
    time is this process's own plus its reaped children's.
    """

    def __init__(self, parts: Mapping[str, Sequence[psutil.Process]]) -> None:
        self._parts = parts
        self._start: dict[str, float] = {}

    def start(self) -> None:
        self._start = self._read()

    def stop(self) -> dict[str, float]:
        """Seconds per part since `start`, "generator" included."""
        now = self._read()
        return {part: now[part] - self._start[part] for part in now}

    def _read(self) -> dict[str, float]:
        spent = {
            part: sum(_seconds(process) for process in group) for part, group in self._parts.items()
        }
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        spent["generator"] = time.process_time() + children.ru_utime + children.ru_stime
        return spent


def _seconds(process: psutil.Process) -> float:
    times = process.cpu_times()
    return float(times.user + times.system)


def _is_worker(process: psutil.Process) -> bool:
    command = " ".join(process.cmdline())
    return "multiprocessing" in command and "resource_tracker" not in command
