"""Debian packages a test needs (Chromium, kubectl): installed when missing and we are root."""

from __future__ import annotations

import os
import shutil
import subprocess
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

APT_TIMEOUT_S = 900


def ensure_installed(binary: Path, package: str) -> str | None:
    """None when `binary` is there (installed now from `package` if need be), else why not."""
    if binary.exists():
        return None
    if os.geteuid() != 0:
        return f"{binary} is missing and the tests do not run as root to install it"
    apt = shutil.which("apt-get")
    if apt is None:
        return f"{binary} is missing and there is no apt-get to install Debian's {package}"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    # Wait for another apt (someone else's test run) rather than fail on its lock.
    install = [apt, "-o", "DPkg::Lock::Timeout=300", "install", "-y", "--no-install-recommends"]
    for command in ([*install, package], [apt, "update"], [*install, package]):
        subprocess.run(command, env=env, capture_output=True, timeout=APT_TIMEOUT_S, check=False)  # noqa: S603  # fixed arguments
        if binary.exists():
            return None
    return f"apt-get could not install {package} (offline, or no such package here)"
