"""The Kubernetes manifests as the tests read them: each overlay rendered by `kubectl kustomize`.

`kubectl kustomize` renders offline (no cluster, no kubeconfig). kubectl is Debian's package,
installed when missing and the tests run as root; otherwise the manifest tests skip and say why.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml

from tests.support.apt import ensure_installed
from tests.support.deploy import DEPLOY

KUSTOMIZE = DEPLOY / "k8s"
OVERLAYS = sorted(path.name for path in (KUSTOMIZE / "overlays").iterdir() if path.is_dir())
KUBECTL = Path("/usr/bin/kubectl")
RENDER_TIMEOUT_S = 60

Manifest = dict[str, Any]


def kubectl() -> tuple[str | None, str | None]:
    """(the kubectl binary, None), or (None, why there is none)."""
    found = shutil.which("kubectl")
    if found:
        return found, None
    reason = ensure_installed(KUBECTL, "kubectl")
    return (str(KUBECTL), None) if reason is None else (None, reason)


def render(binary: str, directory: Path) -> list[Manifest]:
    """Every object a kustomization renders to, in kubectl's order."""
    done = subprocess.run(  # noqa: S603  # fixed arguments
        [binary, "kustomize", str(directory)],
        capture_output=True,
        text=True,
        timeout=RENDER_TIMEOUT_S,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return [document for document in yaml.safe_load_all(done.stdout) if document]


def one(manifests: list[Manifest], kind: str) -> Manifest:
    """The only object of `kind`."""
    found = [manifest for manifest in manifests if manifest["kind"] == kind]
    assert len(found) == 1, f"{len(found)} objects of kind {kind}"
    return found[0]
