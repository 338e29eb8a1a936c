"""What `create_app` does before a worker serves its first request."""

from __future__ import annotations

from typing import TYPE_CHECKING

import resolver.app
from resolver.app import serve_worker_app
from resolver.web.rendering import make_templates
from resolver.web.scanners import agent_patterns

if TYPE_CHECKING:
    import pytest
    from starlette.templating import Jinja2Templates

    from resolver.web.branding import Brand


def test_a_serving_worker_builds_its_crawler_patterns_before_its_first_request(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Building the crawler lists takes about 30 ms and compiling the pages about 55, which the
    first members on a new worker (one scaled up for a rush) would otherwise wait for; what
    compiling does is `tests/web/test_rendering.py`'s."""
    monkeypatch.setenv("RESOLVER_UPSTREAM", "sandbox")
    asked: list[bool] = []

    def recorded(brand: Brand, *, compiled: bool = False) -> Jinja2Templates:
        asked.append(compiled)
        return make_templates(brand, compiled=compiled)

    monkeypatch.setattr(resolver.app, "make_templates", recorded)
    agent_patterns.cache_clear()
    serve_worker_app()
    assert agent_patterns.cache_info().currsize == 1
    assert asked == [True]
