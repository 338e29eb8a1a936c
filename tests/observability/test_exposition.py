"""`serve`'s parent prepares its workers' multiprocess directory: empty, and gone at the end."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import TYPE_CHECKING

from resolver.observability.exposition import MULTIPROC_DIR, prepare_workers

if TYPE_CHECKING:
    from collections.abc import Callable

    import pytest

    from resolver.settings import Settings


def test_the_operators_directory_is_emptied_of_an_earlier_runs_files(
    make_settings: Callable[..., Settings], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Stale counts of a run before must not be added to this one's."""
    (tmp_path / "counter_1234.db").write_bytes(b"stale")
    (tmp_path / "notes.txt").write_text("kept")
    monkeypatch.setenv(MULTIPROC_DIR, str(tmp_path))
    with contextlib.ExitStack() as stack:
        prepare_workers(make_settings(metrics_token="t"), stack)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["notes.txt"]


def test_without_one_a_private_directory_is_made_and_removed(
    make_settings: Callable[..., Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The workers inherit it through the environment; it is gone when serve stops."""
    monkeypatch.setenv(MULTIPROC_DIR, "")  # restored (unset) after the test
    with contextlib.ExitStack() as stack:
        prepare_workers(make_settings(metrics_token="t"), stack)
        made = Path(os.environ[MULTIPROC_DIR])
        assert made.is_dir()
    assert not made.exists()


def test_with_metrics_off_nothing_is_prepared(
    make_settings: Callable[..., Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    """No setting serves metrics: no directory, no variable."""
    monkeypatch.setenv(MULTIPROC_DIR, "")
    with contextlib.ExitStack() as stack:
        prepare_workers(make_settings(), stack)
    assert os.environ[MULTIPROC_DIR] == ""
