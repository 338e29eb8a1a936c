"""`wrk` as the load generator: C code on an event loop, far from being the bottleneck.

wrk runs for a duration; this drives it to a count instead. A Lua script numbers the requests,
parks a connection once every number has been handed out (`delay()` returns an hour) and, at
the last answer, interrupts wrk as Ctrl+C would (through LuaJIT's FFI), so each coupon is
redeemed exactly once and the run's wall time is that of `requests` requests. One wrk thread
is plenty (see the ceiling the benchmark prints) and leaves the CPU to the service on a small
machine.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from resolver_sandbox.embedded import die_with_parent

from resolver_bench.load import NUMBER, Load, Measured

RESULT_MARK = "resolver-bench-result "
# wrk stops itself at the count; this bounds a run that went wrong (a script error leaves wrk
# sending the same request until --duration): 30 s plus 20 ms a request.
BOUND_BASE_S = 30
BOUND_PER_REQUEST_S = 0.02
REQUEST_TIMEOUT = "30s"

SCRIPT = """
local total = %(total)d
local method, path = %(method)s, %(path)s
local headers = %(headers)s
local before, after = %(before)s, %(after)s
local threads = {}
local ffi = require("ffi")
ffi.cdef("int kill(int pid, int sig); int getpid(void);")
local SIGINT = 2

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  reserved, sent, answered, failed, running = 0, 0, 0, 0, false
end

function delay()
  running = true
  -- every number is handed out: park this connection (for longer than any run)
  if reserved >= total then return 3600000 end
  -- reserve the number here: several connections can pass this check before any of them
  -- gets to request(), and counting there would hand out more than `total`
  reserved = reserved + 1
  return 0
end

function request()
  -- wrk calls request() once before the run to check it: that call must not use a number
  if not running then return wrk.format(method, path, headers, nil) end
  local body = nil
  if before ~= "" or after ~= "" then body = before .. sent .. after end
  sent = sent + 1
  return wrk.format(method, path, headers, body)
end

function response(status, headers, body)
  answered = answered + 1
  if status ~= 200 then failed = failed + 1 end
  if answered >= total then
    wrk.thread:stop()
    -- wrk's main thread sleeps out --duration whatever its threads do; SIGINT (its Ctrl+C)
    -- wakes it to report now, so the run's time is that of exactly `total` answers
    ffi.C.kill(ffi.C.getpid(), SIGINT)
  end
end

function done(summary, latency, requests)
  local failed_total = 0
  for _, thread in ipairs(threads) do failed_total = failed_total + thread:get("failed") end
  io.write(string.format(
    '%(mark)s{"completed": %%d, "failed": %%d, "micros": %%d, ' ..
    '"p50": %%d, "p95": %%d, "p99": %%d}\\n',
    summary.requests, failed_total, summary.duration,
    latency:percentile(50), latency:percentile(95), latency:percentile(99)))
end
"""


def find_wrk() -> str | None:
    """wrk from PATH (Debian and Ubuntu: `apt-get install wrk`), or None."""
    return shutil.which("wrk")


class Wrk:
    """Runs a `Load` with the wrk binary at `binary`."""

    def __init__(self, binary: str) -> None:
        self.binary = binary
        self.name = _version(binary)

    def run(self, load: Load) -> Measured:
        """Send every request of `load` once with wrk and read its figures."""
        with tempfile.TemporaryDirectory(prefix="resolver-bench-") as workdir:
            script = Path(workdir) / "load.lua"
            script.write_text(lua_script(load))
            command = [
                self.binary, "--threads", "1", "--connections", str(load.connections),
                "--duration", f"{bound(load)}s", "--timeout", REQUEST_TIMEOUT,
                "--script", str(script), load.url,
            ]  # fmt: skip
            done = subprocess.run(  # noqa: S603  # a fixed argv, no shell
                command,
                capture_output=True,
                text=True,
                check=False,
                # An interrupted benchmark must not leave wrk loading a port for minutes.
                preexec_fn=die_with_parent if sys.platform == "linux" else None,
            )
        return parse_result(done.stdout, done.stderr, load)


def bound(load: Load) -> int:
    """Seconds after which wrk stops even if the script never does."""
    return BOUND_BASE_S + int(load.requests * BOUND_PER_REQUEST_S)


def lua_script(load: Load) -> str:
    """The Lua script that makes wrk send `load.requests` numbered requests, then stop."""
    before, _, after = load.body.partition(NUMBER)
    headers = ", ".join(f"[{_lua(name)}] = {_lua(value)}" for name, value in load.headers.items())
    return SCRIPT % {
        "total": load.requests,
        "method": _lua(load.method),
        "path": _lua(load.path),
        "headers": "{" + headers + "}",
        "before": _lua(before),
        "after": _lua(after),
        "mark": RESULT_MARK,
    }


def parse_result(stdout: str, stderr: str, load: Load) -> Measured:
    """The figures the script's `done()` printed; raise with wrk's own words if none."""
    for line in stdout.splitlines():
        if line.startswith(RESULT_MARK):
            figures = json.loads(line.removeprefix(RESULT_MARK))
            completed = int(figures["completed"])
            return Measured(
                completed=completed,
                failed=int(figures["failed"]) + max(0, load.requests - completed),
                seconds=figures["micros"] / 1e6,
                p50=figures["p50"] / 1000,
                p95=figures["p95"] / 1000,
                p99=figures["p99"] / 1000,
            )
    raise RuntimeError(f"wrk printed no result:\n{stdout}\n{stderr}".strip())


def _lua(text: str) -> str:
    """A Lua string literal (JSON's escapes are a subset of Lua's)."""
    return json.dumps(text)


def _version(binary: str) -> str:
    # `wrk -v` prints its version banner (and exits 1: it wants a URL).
    banner = subprocess.run(  # noqa: S603  # a fixed argv, no shell
        [binary, "-v"], capture_output=True, text=True, check=False
    )
    first = (banner.stdout or banner.stderr).strip().splitlines()
    return first[0].split(" Copyright")[0] if first else "wrk"
