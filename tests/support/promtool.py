"""Prometheus's `promtool`, to check the alerting rules and the dashboard's queries.

It is Debian's `prometheus` package: when it is missing and the tests run as root, the session
installs it with apt-get (the way `tests.support.browser` gets Chromium), with a policy that
starts no service; otherwise the checks skip and say why.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

APT_TIMEOUT_S = 900
# Debian's hook that asks before a package starts its service: 101 means "do not start it".
POLICY = Path("/usr/sbin/policy-rc.d")


def ensure_promtool() -> str | None:
    """promtool's path, installing Debian's package when possible; None when it cannot be had."""
    found = shutil.which("promtool")
    if found or os.geteuid() != 0:
        return found
    apt = shutil.which("apt-get")
    if apt is None:
        return None
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = [apt, "-o", "DPkg::Lock::Timeout=300", "install", "-y", "--no-install-recommends"]
    placed = not POLICY.exists()
    if placed:
        POLICY.write_text("#!/bin/sh\nexit 101\n")
        POLICY.chmod(0o755)
    try:
        for command in ([*install, "prometheus"], [apt, "update"], [*install, "prometheus"]):
            subprocess.run(  # noqa: S603  # fixed arguments
                command, env=env, capture_output=True, timeout=APT_TIMEOUT_S, check=False
            )
            if shutil.which("promtool"):
                break
    finally:
        if placed:
            POLICY.unlink(missing_ok=True)
    return shutil.which("promtool")
