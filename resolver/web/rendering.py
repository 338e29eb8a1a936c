"""Builds the Jinja environment and renders pages with what every page needs."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import jinja2
from starlette.templating import Jinja2Templates

from resolver.web.services import services

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


def make_templates() -> Jinja2Templates:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        extensions=["jinja2.ext.i18n"],
        undefined=jinja2.StrictUndefined,
    )
    env.install_null_translations(newstyle=True)  # type: ignore[attr-defined]  # added by ext.i18n
    env.globals["local_time"] = local_time
    return Jinja2Templates(env=env)


def local_time(value: datetime | None, timezone: str | None = None) -> str:
    """A date and time as the counter reads it: in the offer's time zone when it has one."""
    if value is None:
        return ""
    zone: Any = UTC
    if timezone:
        try:
            zone = ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            zone = UTC
    local = value.astimezone(zone)
    return f"{local:%d %B %Y, %H:%M} ({local.tzname()})"


def render(
    request: Request,
    name: str,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> Response:
    templates = services(request).templates
    context.setdefault("lang", "en")
    context.setdefault("brand", "Coupon")
    context.setdefault("offer", None)
    context.setdefault("detail", "")
    return templates.TemplateResponse(
        request, name, context, status_code=status_code, headers=headers
    )
