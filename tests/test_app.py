"""What `create_app` does before a worker serves its first request."""

from __future__ import annotations

from typing import TYPE_CHECKING

from resolver.app import serve_worker_app
from resolver.web.scanners import agent_patterns

if TYPE_CHECKING:
    import pytest


def test_a_serving_worker_builds_its_crawler_patterns_before_its_first_request(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Building the crawler lists takes about 30 ms, which the first member on a new worker
    (one scaled up for a rush) would otherwise wait for; the templates are compiled too
    (`tests/web/test_rendering.py`)."""
    monkeypatch.setenv("RESOLVER_UPSTREAM", "sandbox")
    agent_patterns.cache_clear()
    serve_worker_app()
    assert agent_patterns.cache_info().currsize == 1
