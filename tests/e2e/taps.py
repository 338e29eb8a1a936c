"""What a phone or a till does to a running service: open a link, confirm, call the JSON API."""

from __future__ import annotations

import re
import ssl
from contextlib import AsyncExitStack, asynccontextmanager
from functools import cache
from typing import TYPE_CHECKING, Any

import httpx

from tests.conftest import BROWSER

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable, Mapping

    Trace = Callable[[str, dict[str, Any]], Awaitable[None]]

HIDDEN_FIELD = re.compile(r'<input type="hidden" name="(\w+)" value="([^"]*)">')
PAGE_STATE = re.compile(r'<body class="state-([a-z_-]+)">')
RECEIPT = re.compile(r"/redeemed/[a-z2-7]{16}-[a-z2-7]{16}")


def phone(base_url: str) -> httpx.AsyncClient:
    """A client that looks like a member's browser."""
    return httpx.AsyncClient(
        base_url=base_url,
        headers={"user-agent": BROWSER},
        timeout=httpx.Timeout(20.0),
        verify=_tls(),
    )


@asynccontextmanager
async def phones(base_url: str, count: int) -> AsyncIterator[list[httpx.AsyncClient]]:
    """`count` phones, each with its own connections, as at a busy counter.

    Not one client with `count` connections: httpx's pool scans every connection for every
    request, so at a few hundred connections the test itself would be the bottleneck.
    """
    async with AsyncExitStack() as stack:
        yield [await stack.enter_async_context(phone(base_url)) for _ in range(count)]


@cache
def _tls() -> ssl.SSLContext:
    # Loading the CA bundle costs ~20 ms per client; the servers are plain HTTP anyway.
    return ssl.create_default_context()


def page_state(page: httpx.Response) -> str:
    """Which page this is ("confirm", "success", "already", "progress", ...), by its body class."""
    found = PAGE_STATE.search(page.text)
    assert found, page.text[:500]
    return found.group(1)


async def open_link(client: httpx.AsyncClient, link: Mapping[str, str]) -> dict[str, str]:
    """GET the pass link; answers the confirm form's hidden fields."""
    page = await client.get("/redeem", params=dict(link))
    assert page.status_code == 200, page.text[:500]
    assert page_state(page) == "confirm"
    return dict(HIDDEN_FIELD.findall(page.text))


async def confirm(
    client: httpx.AsyncClient, form: Mapping[str, str], trace: Trace | None = None
) -> httpx.Response:
    """POST the confirm form as the browser would (the 303 is not followed)."""
    return await client.post("/redeem", data=dict(form), extensions=_traced(trace))


async def redeem_json(
    client: httpx.AsyncClient, link: Mapping[str, str], trace: Trace | None = None
) -> httpx.Response:
    """POST /api/v1/redeem with a JSON body, as a till would."""
    return await client.post("/api/v1/redeem", json=dict(link), extensions=_traced(trace))


def _traced(trace: Trace | None) -> dict[str, Any]:
    # httpcore calls `trace(event, info)` at each step of sending and receiving.
    return {} if trace is None else {"trace": trace}


def link(campaign: str, external_id: str) -> dict[str, str]:
    return {"campaignId": campaign, "externalId": external_id}
