"""The CPU clock: each part's seconds, and the share of them spent in the kernel."""

from __future__ import annotations

import os
import time

import psutil
from resolver_bench.cpu import CpuClock


def test_the_kernel_share_is_measured_over_the_same_interval_and_within_the_total() -> None:
    this = psutil.Process()
    clock = CpuClock({"this": [this]})
    clock.start()
    started = this.cpu_times().system
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:  # system calls until the kernel's clock has ticked
        for _ in range(20_000):
            os.stat(".")
        if this.cpu_times().system - started >= 0.05:
            break
    spent = clock.stop()
    assert 0.05 <= clock.kernel["this"] <= spent["this"]
    assert set(spent) == {"this", "generator"}
