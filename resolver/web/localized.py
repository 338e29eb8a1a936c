"""What a page shows in the member's language and the offer's time zone: offer texts and moments.

Offer texts come from PassKit's localized fields (`Offer.translations`) when the offer has one
for the page's language, else the offer's own text. The merchant's hosted-page texts
(`Offer.hosted`) are picked the same way; one the offer leaves unset is "", and the template
then says the service's own catalogued text. Dates and times are formatted by Babel for
the page's locale, in the offer's `ianaTimezone` (UTC when it has none or an unknown one),
because that is the clock on the wall of the counter where the coupon is used.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.dates import format_date, format_time, format_timedelta

if TYPE_CHECKING:
    from babel import Locale

    from resolver.domain.coupons import Offer
    from resolver.web.i18n import Language

from resolver.domain.hosted import TEXTS, Hosted

OFFER_FIELDS = ("title", "short_title", "details", "fine_print")


@dataclass(frozen=True, slots=True)
class OfferText:
    """An offer's texts in one language, and the time zone its dates are shown in."""

    title: str
    short_title: str
    details: str
    fine_print: str
    timezone: str | None
    # The merchant's hosted-page texts by name (`resolver.domain.hosted.TEXTS`), "" when unset.
    page: dict[str, str] = field(default_factory=dict)
    hosted: Hosted = field(default_factory=Hosted)


def offer_text(offer: Offer, language: Language) -> OfferText:
    """The offer as a member reading `language` sees it."""
    texts = {
        name: pick(getattr(offer, name), offer.translations.get(name, {}), language)
        for name in OFFER_FIELDS
    }
    hosted = offer.hosted
    page = {
        name: pick(hosted.texts.get(name, ""), hosted.translations.get(name, {}), language)
        for name in TEXTS
    }
    return OfferText(timezone=offer.timezone, page=page, hosted=hosted, **texts)


def pick(default: str, translations: dict[str, str], language: Language) -> str:
    """The text for `language` among `translations`, else `default`.

    PassKit's keys are language codes; "fr", "FR", "fr-CA", "fr_CA" and "FR_CA" all count,
    the exact locale first, then the bare language, then its first regional variant.
    """
    texts = {
        key.replace("_", "-").lower(): text for key, text in translations.items() if text.strip()
    }
    for key in (language.tag.lower(), language.code):
        if key in texts:
            return texts[key]
    regional = sorted(key for key in texts if key.startswith(f"{language.code}-"))
    return texts[regional[0]] if regional else default


@dataclass(frozen=True, slots=True)
class Moment:
    """A point in time as a page shows it."""

    iso: str  # for <time datetime>, with the zone's offset
    date: str  # "Sunday, 1 March 2026"
    short_date: str  # "1 March 2026"
    time: str  # "10:30:12", with seconds
    epoch_ms: int  # for the clock script
    zone: str  # the IANA zone it is shown in


def zone(name: str | None) -> tzinfo:
    """The named IANA zone, or UTC when it is missing or unknown."""
    if name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            pass  # an unknown zone from upstream must not break the page
    return UTC


def moment(value: datetime, timezone: str | None, locale: Locale) -> Moment:
    """`value` in the zone named `timezone`, formatted for `locale`."""
    where = zone(timezone)
    local = value.astimezone(where)
    return Moment(
        iso=local.isoformat(timespec="seconds"),
        date=format_date(local, "full", locale=locale),
        short_date=format_date(local, "long", locale=locale),
        time=format_time(local, "medium", locale=locale),
        epoch_ms=int(value.timestamp() * 1000),
        zone=str(where),
    )


def ago(elapsed: timedelta, locale: Locale) -> str:
    """How long ago, in words: "3 minutes ago", "il y a 3 minutes"."""
    return format_timedelta(-elapsed, add_direction=True, locale=locale)


def duration(seconds: int, locale: Locale) -> str:
    """How long, in words: "15 minutes", "15 Minuten"."""
    return format_timedelta(timedelta(seconds=seconds), locale=locale)
