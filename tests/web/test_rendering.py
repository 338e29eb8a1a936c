"""The templates' environment: compiled up front for a worker that is about to serve."""

from __future__ import annotations

from resolver.settings import Settings
from resolver.web.branding import Brand
from resolver.web.rendering import TEMPLATES, make_templates

BRAND = Brand.from_settings(Settings(_env_file=None))
PAGES = sorted(path.name for path in TEMPLATES.glob("*.html"))


def test_a_serving_workers_templates_are_compiled_before_its_first_page() -> None:
    """Compiling every page takes tens of milliseconds, which the first members to open a page
    on a new worker (one scaled up for a rush) would otherwise wait for."""
    templates = make_templates(BRAND, compiled=True)
    assert sorted(name for _, name in templates.env.cache) == PAGES  # type: ignore[union-attr]


def test_templates_compile_on_first_use_unless_asked() -> None:
    """An app built for one test compiles only the pages it renders."""
    assert not make_templates(BRAND).env.cache
