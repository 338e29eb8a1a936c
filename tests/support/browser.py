"""Real headless Chromium for the screen tests: getting it, serving the app to it, auditing pages.

Chromium is Debian's package (/usr/bin/chromium), driven by Playwright: browsers downloaded by
test tools do not install everywhere, and a distribution's package does. When it is missing and
the tests run as root, the session installs it with apt-get; otherwise the browser tests skip
and say why. axe-core is the copy the `axe-playwright-python` wheel ships (no hand-written
accessibility checks, no download at test time).
"""

from __future__ import annotations

import socket
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import uvicorn
from axe_playwright_python.async_playwright import Axe

from tests.support.apt import ensure_installed

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from playwright.async_api import Browser, BrowserContext, ConsoleMessage, Page, Request, Route
    from starlette.types import ASGIApp

CHROMIUM = Path("/usr/bin/chromium")
PHONE = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Mobile Safari/537.36"
)
MAX_PAGE_BYTES = 30 * 1024
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts" / "screens"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]
# Records what the page's own Content-Security-Policy refused (init scripts are not subject to it).
CSP_LISTENER = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__csp.push(`${event.effectiveDirective} ${event.blockedURI}`);
});
"""
SMALL_TARGETS = """
() => [...document.querySelectorAll("a[href], button, input:not([type=hidden]), select, textarea")]
  .map((element) => [element.outerHTML.slice(0, 80), element.getBoundingClientRect()])
  .filter(([, box]) => box.width < 44 || box.height < 44)
  .map(([html, box]) => `${html} is ${Math.round(box.width)}x${Math.round(box.height)}`)
"""


def ensure_chromium() -> str | None:
    """None when Chromium is there (installed now if need be), else why it cannot be had."""
    return ensure_installed(CHROMIUM, "chromium")


class _Server(uvicorn.Server):
    """uvicorn that tells the test thread when start-up is over, however it went."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.startup_done = threading.Event()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        try:
            await super().startup(sockets)
        finally:
            self.startup_done.set()


class ServedApp:
    """The app behind a real uvicorn server on a free port, in a daemon thread."""

    def __init__(self, app: ASGIApp) -> None:
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.bind(("127.0.0.1", 0))
        port = int(self._sock.getsockname()[1])
        self.url = f"http://127.0.0.1:{port}"
        config = uvicorn.Config(app, log_config=None, access_log=False, lifespan="on")
        self._server = _Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._sock]}, daemon=True
        )

    def __enter__(self) -> ServedApp:
        self._thread.start()
        if not self._server.startup_done.wait(10) or not self._server.started:
            self.__exit__()
            raise RuntimeError("the app did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.should_exit = True
        self._thread.join(10)
        self._sock.close()


@dataclass
class Audit:
    """Everything one page load did that a test may assert on."""

    origin: str
    status: int = 0  # the document's HTTP status
    console_errors: list[str] = field(default_factory=list)
    foreign_requests: list[str] = field(default_factory=list)
    requests: list[Request] = field(default_factory=list)

    def watch(self, page: Page) -> None:
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.console_errors.append(f"page error: {error}"))
        page.on("request", self._request)

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.console_errors.append(message.text)

    def _request(self, request: Request) -> None:
        self.requests.append(request)
        if not request.url.startswith((f"{self.origin}/", "data:")):
            self.foreign_requests.append(request.url)

    async def transferred_bytes(self) -> int:
        """Bytes on the wire for every response the page loaded (headers and bodies)."""
        total = 0
        for request in self.requests:
            if request.failure is not None:
                continue  # refused or blocked: nothing came over the wire
            sizes = await request.sizes()
            total += sizes["responseHeadersSize"] + sizes["responseBodySize"]
        return total


async def open_page(context: BrowserContext, url: str, origin: str) -> tuple[Page, Audit]:
    """A page that records console errors, requests and CSP violations, opened at `url`."""
    await context.add_init_script(CSP_LISTENER)
    page = await context.new_page()
    audit = Audit(origin)
    audit.watch(page)
    response = await page.goto(url, wait_until="load")
    audit.status = response.status if response is not None else 0
    return page, audit


async def csp_violations(page: Page) -> list[str]:
    violations: list[str] = await page.evaluate("window.__csp")
    return violations


async def small_targets(page: Page) -> list[str]:
    found: list[str] = await page.evaluate(SMALL_TARGETS)
    return found


async def overflows(page: Page) -> bool:
    """True when the page scrolls sideways (unreadable at this width)."""
    wider: bool = await page.evaluate(
        "document.documentElement.scrollWidth > document.documentElement.clientWidth"
    )
    return wider


async def serious_accessibility_violations(page: Page) -> list[str]:
    """axe-core's serious and critical violations (WCAG 2.2 AA and best practice)."""
    options = {"runOnly": {"type": "tag", "values": AXE_TAGS}, "resultTypes": ["violations"]}
    results = await Axe().run(page, options=options)
    violations: list[dict[str, Any]] = results.response["violations"]
    return [
        f"{item['id']} ({item['impact']}): {[node['target'] for node in item['nodes']]}"
        for item in violations
        if item["impact"] in ("serious", "critical")
    ]


async def screenshot(page: Page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    await page.screenshot(path=str(path), animations="allow")
    return path


@dataclass(frozen=True)
class View:
    """A phone's screen: size, colour scheme and language."""

    name: str
    width: int
    height: int
    scheme: Literal["light", "dark"]
    locale: str


VIEWS = [View("390x844", 390, 844, "light", "en-US"), View("320x640", 320, 640, "dark", "de-DE")]


async def page_problems(page: Page, audit: Audit, status: int) -> list[str]:
    """What is wrong with a loaded page, short of accessibility: console errors, CSP
    violations, other origins, small tap targets, sideways scrolling, weight."""
    # Chrome reports the document's own error status (404, 410…) as a console error.
    expected = f"the server responded with a status of {status} "
    found = [f"console: {e}" for e in audit.console_errors if expected not in e]
    found += [f"CSP: {violation}" for violation in await csp_violations(page)]
    found += [f"foreign request: {url}" for url in audit.foreign_requests]
    found += [f"tap target: {target}" for target in await small_targets(page)]
    if await overflows(page):
        found.append("scrolls sideways")
    weight = await audit.transferred_bytes()
    if weight > MAX_PAGE_BYTES:
        found.append(f"{weight} bytes on the wire")
    return found


async def audit_screen(
    browser: Browser,
    base_url: str,
    path: str,
    name: str,
    status: int,
    *,
    check: Callable[[Page], Awaitable[None]] | None = None,
    user_agent: str = PHONE,
    hold_still: bool = False,
) -> None:
    """Render `path` in every view and fail with everything found wrong in any of them.

    `hold_still` drops the Refresh header, so a self-reloading page stays put while audited.
    """
    problems: list[str] = []
    for view in VIEWS:
        context = await browser.new_context(
            viewport={"width": view.width, "height": view.height},
            color_scheme=view.scheme,
            locale=view.locale,
            user_agent=user_agent,
            device_scale_factor=1,
        )
        try:
            if hold_still:
                await context.route(f"{base_url}/**", _without_refresh)
            page, audit = await open_page(context, base_url + path, base_url)
            assert audit.status == status
            html_lang = await page.evaluate("document.documentElement.lang")
            assert html_lang == view.locale, f"{view.name}: <html lang={html_lang}>"
            found = await page_problems(page, audit, status)
            if check is not None:
                await check(page)
            await screenshot(page, f"{name}-{view.name}")
            found += await serious_accessibility_violations(page)
            problems += [f"{view.name}: {problem}" for problem in found]
        finally:
            await context.close()
    assert not problems, "\n".join(problems)


async def _without_refresh(route: Route) -> None:
    response = await route.fetch()
    headers = {k: v for k, v in response.headers.items() if k.lower() != "refresh"}
    await route.fulfill(response=response, headers=headers)
