"""Dates and times in the member's locale and the offer's zone; PassKit's localized offer texts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from babel import Locale

from resolver.domain.coupons import Offer
from resolver.web.i18n import negotiate
from resolver.web.localized import ago, moment, offer_text

REDEEMED = datetime(2026, 3, 1, 9, 30, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    ("locale", "date", "time"),
    [
        ("en", "Sunday, March 1, 2026", "10:30:12\u202fAM"),
        ("en_GB", "Sunday, 1 March 2026", "10:30:12"),
        ("fr", "dimanche 1 mars 2026", "10:30:12"),
        ("de", "Sonntag, 1. März 2026", "10:30:12"),
        ("es", "domingo, 1 de marzo de 2026", "10:30:12"),
        ("nl", "zondag 1 maart 2026", "10:30:12"),
        ("it", "domenica 1 marzo 2026", "10:30:12"),
    ],
)
def test_a_moment_is_formatted_for_the_locale_in_the_offers_zone(
    locale: str, date: str, time: str
) -> None:
    """09:30 UTC reads 10:30 in Paris, written the way each locale writes dates and times."""
    shown = moment(REDEEMED, "Europe/Paris", Locale.parse(locale))
    assert (shown.date, shown.time) == (date, time)
    assert shown.iso == "2026-03-01T10:30:12+01:00"
    assert shown.zone == "Europe/Paris"
    assert shown.epoch_ms == int(REDEEMED.timestamp() * 1000)


def test_summer_time_is_applied() -> None:
    """The zone's rules, not a fixed offset: Paris is UTC+2 in July."""
    assert moment(REDEEMED.replace(month=7), "Europe/Paris", Locale("en")).iso.endswith("+02:00")


@pytest.mark.parametrize("zone", [None, "", "Mars/Olympus_Mons", "../../etc/passwd"])
def test_a_missing_or_unknown_zone_shows_utc(zone: str | None) -> None:
    """An offer without a usable ianaTimezone is shown in UTC rather than breaking the page."""
    shown = moment(REDEEMED, zone, Locale("en"))
    assert (shown.iso, shown.zone) == ("2026-03-01T09:30:12+00:00", "UTC")


@pytest.mark.parametrize(
    ("locale", "words"),
    [("en", "3 minutes ago"), ("fr", "il y a 3 minutes"), ("de", "vor 3 Minuten")],
)
def test_elapsed_time_reads_as_words(locale: str, words: str) -> None:
    """A dimmed success says how long ago it was redeemed, in the member's language."""
    assert ago(timedelta(minutes=3, seconds=10), Locale.parse(locale)) == words


OFFER = Offer(
    id="offer-1",
    title="Free coffee",
    details="One regular coffee.",
    fine_print="One per member.",
    timezone="Europe/Paris",
    translations={
        "title": {"fr": "Café offert", "de_AT": "Gratis Kaffee", "DE-ch": "Gratis Kafi"},
        "details": {"fr": "Un café classique.", "nl": "  "},
    },
)


@pytest.mark.parametrize(
    ("lang", "title", "details"),
    [
        ("fr-CA", "Café offert", "Un café classique."),
        ("de-AT", "Gratis Kaffee", "One regular coffee."),
        ("de-CH", "Gratis Kafi", "One regular coffee."),
        ("de", "Gratis Kaffee", "One regular coffee."),
        ("nl", "Free coffee", "One regular coffee."),
        ("en", "Free coffee", "One regular coffee."),
    ],
)
def test_offer_texts_come_from_passkits_translations_when_there_is_one(
    lang: str, title: str, details: str
) -> None:
    """Exact tag, then the language, then a regional variant of it, else the offer's own text."""
    shown = offer_text(OFFER, negotiate("", lang, "en"))
    assert (shown.title, shown.details, shown.fine_print) == (title, details, "One per member.")
    assert shown.timezone == "Europe/Paris"
