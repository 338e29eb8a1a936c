"""Builds the Jinja environment and renders pages with what every page needs.

Each render picks its language (`?lang=` or the confirm form's `lang`, then Accept-Language, then
`RESOLVER_DEFAULT_LANGUAGE`) and passes that language's gettext/ngettext, the offer in that
language and date formatters for the offer's time zone in the template context: nothing
request-specific is ever stored on the shared Environment.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import jinja2
from starlette.templating import Jinja2Templates

from resolver.domain.coupons import Offer
from resolver.web.branding import fingerprint
from resolver.web.i18n import N_, Language, negotiate, parse_tag
from resolver.web.localized import Moment, ago, duration, moment, offer_text
from resolver.web.services import services

if TYPE_CHECKING:
    from datetime import datetime, timedelta

    from starlette.requests import Request
    from starlette.responses import Response

    from resolver.web.branding import Brand

PACKAGE = Path(__file__).resolve().parent.parent
TEMPLATES = PACKAGE / "templates"
STATIC = PACKAGE / "static"

# Details the member may read on an error page, raised by pages.py and redemption.py: they are
# shown translated. Any other detail (a malformed link's) is technical and shown as is, in English,
# beneath a translated explanation.
KNOWN_DETAILS = frozenset(
    {
        N_("The confirmation is missing."),
        N_("The confirmation is not valid."),
        N_("This confirmation has expired or belongs to another coupon."),
        N_("This confirmation was already used."),
        N_("This receipt does not exist."),
    }
)


def outbound_link(url: str) -> str:
    """`url` when it is an absolute http(s) link a page may point a button at, else "".

    An upstream text chosen as a link must never become `javascript:` or `data:`: escaping
    alone does not stop those.
    """
    parts = urlsplit(url.strip())
    return parts.geturl() if parts.scheme in ("http", "https") and parts.netloc else ""


def make_templates(brand: Brand, *, compiled: bool = False) -> Jinja2Templates:
    """The pages' environment; `compiled`: every page compiled now (tens of milliseconds), not
    on its first render, for a worker about to serve."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        # The templates ship with the package: no file is checked for changes on every render.
        auto_reload=False,
        extensions=["jinja2.ext.i18n"],
        undefined=jinja2.StrictUndefined,
    )
    # Only the calling convention is set here: gettext and ngettext come with each render.
    env.newstyle_gettext = True  # type: ignore[attr-defined]  # declared by the i18n extension
    env.globals["brand"] = brand
    env.globals["asset"] = asset_urls(STATIC)
    if compiled:
        for name in env.list_templates(filter_func=lambda name: name.endswith(".html")):
            env.get_template(name)
    return Jinja2Templates(env=env)


def asset_urls(directory: Path) -> dict[str, str]:
    """Each static file's URL with a content hash, so browsers may cache it and still update."""
    return {
        path.name: f"/static/{path.name}?v={fingerprint(path.read_bytes())}"
        for path in sorted(directory.iterdir())
        if path.is_file()
    }


def remember_language(request: Request, tag: str | None) -> None:
    """Record the language a form asked for, for this request's pages (errors included)."""
    request.state.language = tag


def requested_language(request: Request) -> str | None:
    """The supported language the request asked for explicitly, as a canonical tag, or None.

    It is what links and redirects carry on, so the receipt stays in the member's choice.
    """
    tag = getattr(request.state, "language", None) or request.query_params.get("lang")
    language = parse_tag(tag) if tag else None
    return language.tag if language else None


def language_of(request: Request) -> Language:
    default = services(request).settings.default_language
    accept = request.headers.get("accept-language", "")
    return negotiate(accept, requested_language(request), default)


def render(
    request: Request,
    name: str,
    status_code: int = 200,
    *,
    refresh: str | None = None,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> Response:
    """The page `name` in the request's language; `refresh` ("2", "2; url=…") reloads it.

    Browsers honour the `Refresh` header exactly like `<meta http-equiv="refresh">`, with or
    without JavaScript. Both timed reloads are essential, WCAG 2.2.1's exception (a result still
    being settled; a success screen that must stop looking live). axe-core's meta-refresh rule
    flags every timed meta refresh without knowing that; the header says the same thing to the
    browser without tripping that heuristic.
    """
    app = services(request)
    language = language_of(request)
    offer = context.get("offer")
    timezone = offer.timezone if isinstance(offer, Offer) else None

    def when(value: datetime | None) -> Moment | None:
        return moment(value, timezone, language.locale) if value else None

    def since(elapsed: timedelta) -> str:
        return ago(elapsed, language.locale)

    functions = app.catalogues.functions(language)
    context.update(functions)
    context["offer"] = offer_text(offer, language) if isinstance(offer, Offer) else None
    context.setdefault("detail", "")
    context["lang"] = language.tag
    context["lang_param"] = requested_language(request)
    context["when"] = when
    context["ago"] = since
    context["duration"] = lambda seconds: duration(seconds, language.locale)
    context["cta_url"] = outbound_link
    context["explain"] = lambda detail: (
        functions["gettext"](detail) if detail in KNOWN_DETAILS else ""
    )
    response = app.templates.TemplateResponse(
        request, name, context, status_code=status_code, headers=headers
    )
    response.headers["content-language"] = language.tag
    response.headers["vary"] = "Accept-Language"
    if refresh is not None:
        response.headers["refresh"] = refresh
    return response
