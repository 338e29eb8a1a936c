"""The counter view's rows: an audit entry with its offer, its moment and who verified it,
rendered by the server for the page and its events alike, in the page's language."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from resolver.domain.coupons import Link
from resolver.domain.errors import StoreUnavailable, UpstreamError
from resolver.domain.redemptions import Outcome
from resolver.web.localized import moment, offer_text
from resolver.web.rendering import language_of
from resolver.web.services import services

if TYPE_CHECKING:
    from starlette.requests import Request

    from resolver.domain.counter import CounterEntry
    from resolver.domain.coupons import Offer
    from resolver.web.counter_sessions import Counter
    from resolver.web.localized import Moment

# Offers named by rows are held in memory this long, this many at most.
OFFER_SECONDS = 60.0
MAX_OFFERS_HELD = 256
TONES = {
    Outcome.REDEEMED.value: "success",
    Outcome.ALREADY_REDEEMED.value: "already",
    Outcome.UNCONFIRMED.value: "unconfirmed",
}


@dataclass(frozen=True, slots=True)
class Row:
    """One listed redemption, ready for `_counter_row.html`."""

    entry: CounterEntry
    when: Moment
    offer: str  # the offer's title in the page's language, else its id
    employee: str | None  # who typed their PIN; None for the store code
    tone: str


async def rows_of(request: Request, counter: Counter, entries: list[CounterEntry]) -> list[Row]:
    """The entries as rows in the page's language, each offer looked up once."""
    language = language_of(request)
    offers: dict[tuple[str, str], Offer | None] = {}
    store_zone = counter.access.timezone(entries[0].store) if entries else None
    rows = []
    for entry in entries:
        key = (entry.campaign, entry.offer)
        if key not in offers:
            offers[key] = await _offer(request, counter, *key)
        offer = offers[key]
        title = offer_text(offer, language).title if offer else entry.offer
        employee = (
            counter.access.employee_name(entry.store, entry.employee) if entry.employee else None
        )
        # The store's clock; else the offer's, which the member's screen shows.
        zone = store_zone or (offer.timezone if offer else None)
        when = moment(entry.at, zone, language.locale)
        rows.append(Row(entry, when, title, employee, TONES.get(entry.outcome, "invalid")))
    return rows


async def _offer(
    request: Request, counter: Counter, campaign_id: str, offer_id: str
) -> Offer | None:
    """The offer (from the offer cache, as the member's page had it), or None: best effort."""
    if not (campaign_id and offer_id):
        return None
    key, now = (campaign_id, offer_id), time.monotonic()
    held = counter.offers.get(key)
    if held is not None and held[0] > now:
        return held[1]
    try:
        # Only the campaign routes an offer to its back end: the member stays unnamed.
        offer = await services(request).redemptions.offer(Link(campaign_id, ""), offer_id)
    except (UpstreamError, StoreUnavailable):
        return None
    if len(counter.offers) >= MAX_OFFERS_HELD:
        counter.offers.clear()
    counter.offers[key] = (now + OFFER_SECONDS, offer)
    return offer


def render_row(request: Request, row: Row) -> str:
    """One row's HTML, as the page's list renders it, for an event."""
    app = services(request)
    context: dict[str, Any] = {"row": row, **app.catalogues.functions(language_of(request))}
    return app.templates.env.get_template("_counter_row.html").render(context)
