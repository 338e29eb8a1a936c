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
    time is this process's own plus its reaped children's. `kernel` keeps, per named group,
    the part of those seconds spent in the kernel (system calls, the network stack): a
    sampling profiler's picture of system calls can be checked against it.
    """

    def __init__(self, parts: Mapping[str, Sequence[psutil.Process]]) -> None:
        self._parts = parts
        self._start: dict[str, float] = {}
        self._start_kernel: dict[str, float] = {}
        self.kernel: dict[str, float] = {}

    def start(self) -> None:
        self._start, self._start_kernel = self._read()

    def stop(self) -> dict[str, float]:
        """Seconds per part since `start`, "generator" included."""
        now, kernel = self._read()
        self.kernel = {part: kernel[part] - self._start_kernel[part] for part in kernel}
        return {part: now[part] - self._start[part] for part in now}

    def _read(self) -> tuple[dict[str, float], dict[str, float]]:
        spent, kernel = {}, {}
        for part, group in self._parts.items():
            times = [process.cpu_times() for process in group]
            spent[part] = float(sum(each.user + each.system for each in times))
            kernel[part] = float(sum(each.system for each in times))
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        spent["generator"] = time.process_time() + children.ru_utime + children.ru_stime
        return spent, kernel


def _is_worker(process: psutil.Process) -> bool:
    command = " ".join(process.cmdline())
    return "multiprocessing" in command and "resource_tracker" not in command
