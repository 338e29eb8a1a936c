"""Members redeeming through the pages, as a phone would: open the link, press "Redeem now",
follow the 303 to the receipt. Used to profile the pages' path; its own speed is not the point
(httpx is a general client), so it reports only whether every flow reached its receipt.
"""

from __future__ import annotations

import asyncio
import re

import httpx

PHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15"
    " (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
)
FORM_FIELD = re.compile(r'<input type="hidden" name="([A-Za-z]+)" value="([^"]*)">')
TIMEOUT_S = 30.0


def run(url: str, campaign: str, prefix: str, count: int, connections: int) -> int:
    """Member flows for coupons `prefix0`.. over `connections` clients; how many failed."""
    return asyncio.run(_drive(url, campaign, prefix, count, connections))


async def _drive(url: str, campaign: str, prefix: str, count: int, connections: int) -> int:
    numbers = iter(range(count))
    failed = 0

    async def member() -> None:
        nonlocal failed
        async with httpx.AsyncClient(
            base_url=url, headers={"user-agent": PHONE}, timeout=TIMEOUT_S
        ) as client:
            for number in numbers:
                if not await _flow(client, campaign, f"{prefix}{number}"):
                    failed += 1

    await asyncio.gather(*(member() for _ in range(min(connections, count))))
    return failed


async def _flow(client: httpx.AsyncClient, campaign: str, external_id: str) -> bool:
    """Open → confirm → receipt for one coupon; True when the receipt says it was redeemed."""
    page = await client.get("/redeem", params={"externalId": external_id, "campaignId": campaign})
    form = dict(FORM_FIELD.findall(page.text))
    if page.status_code != 200 or "token" not in form:
        return False
    confirmed = await client.post("/redeem", data=form)
    if confirmed.status_code != 303:
        return False
    receipt = await client.get(confirmed.headers["location"])
    return receipt.status_code == 200
