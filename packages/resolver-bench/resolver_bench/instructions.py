"""Instructions per JSON redemption of one worker, counted by callgrind: a figure that other
work on a shared machine does not move, unlike CPU time, for comparing two versions of the code.

    uv run python -m resolver_bench.instructions [REDEMPTIONS]   # needs valgrind on PATH

It starts its own Redis, the sandbox (answering at once) and `resolver serve --workers 1`
under `valgrind --tool=callgrind`, warms up, zeroes the counters, sends the redemptions over
ten connections and reads the total back. Under valgrind the worker runs some fifty times
slower: expect several minutes, most of them the start-up.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from resolver_sandbox.embedded import EmbeddedRedis

from resolver_bench import processes, runner
from resolver_bench.client import PythonClient

CONNECTIONS = 10
WARMUP = 300
START_TIMEOUT_S = 900.0


def count(redemptions: int) -> tuple[float, int]:
    """Instructions per redemption, and how many redemptions failed."""
    with tempfile.TemporaryDirectory(prefix="resolver-instructions-") as folder:
        work = Path(folder)
        with EmbeddedRedis() as store, processes.sandbox(work) as sandbox:
            url = f"http://{processes.HOST}:{processes.free_port()}"
            output = work / "callgrind.out"
            command = [
                "valgrind", "--tool=callgrind", f"--callgrind-out-file={output}",
                "--cache-sim=no", "--dump-instr=no",
                sys.executable, "-m", "resolver", "serve", "--host", processes.HOST,
                "--port", url.rsplit(":", 1)[1], "--workers", "1",
            ]  # fmt: skip
            settings = runner.settings(sandbox.url, store.url)
            with (work / "serve.stderr").open("wb") as log:
                worker = subprocess.Popen(  # noqa: S603  # valgrind and our own interpreter
                    command,
                    cwd=work,
                    env=processes.child_environment(settings),
                    stdout=log,
                    stderr=log,
                )
            try:
                _wait_ready(url, worker, work)
                with httpx.Client(base_url=sandbox.url, timeout=60) as admin:
                    runner.make_coupons(admin, "w-", WARMUP)
                    runner.make_coupons(admin, "r-", redemptions)
                generator = PythonClient()
                generator.run(runner.redemptions(url, "w-", WARMUP, CONNECTIONS))
                _control("-z", worker.pid)
                measured = generator.run(runner.redemptions(url, "r-", redemptions, CONNECTIONS))
                _control("-d", worker.pid)
                time.sleep(1)  # the dump is written by the worker, after the call returns
                total = _total(work)
            finally:
                worker.terminate()
                worker.wait(60)
    return total / redemptions, measured.failed


def _wait_ready(url: str, worker: subprocess.Popen[bytes], work: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if worker.poll() is not None:
            log = (work / "serve.stderr").read_text(errors="replace")
            raise RuntimeError(f"serve exited under valgrind:\n{log[-3000:]}")
        try:
            if httpx.get(f"{url}/readyz", timeout=5).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(1)
    raise RuntimeError("serve did not start under valgrind in time")


def _control(option: str, pid: int) -> None:
    # valgrind's own tool from PATH, with our arguments
    subprocess.run(  # noqa: S603
        ["callgrind_control", option, str(pid)],  # noqa: S607
        check=True,
        capture_output=True,
    )


def _total(work: Path) -> int:
    """The instruction total of the latest dump (the one taken after the measured run)."""
    dumps = sorted(work.glob("callgrind.out*"), key=lambda path: path.stat().st_mtime)
    for line in dumps[-1].read_text().splitlines():
        if line.startswith(("summary:", "totals:")):
            return int(line.split()[1])
    raise RuntimeError(f"no totals in {dumps[-1]}")


def main() -> None:
    redemptions = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    per_redemption, failed = count(redemptions)
    print(
        f"{per_redemption / 1e6:.2f} M instructions per JSON redemption"
        f" ({redemptions} redemptions, {CONNECTIONS} connections, {failed} failed,"
        " one worker, sandbox answering at once)"
    )


if __name__ == "__main__":
    main()
