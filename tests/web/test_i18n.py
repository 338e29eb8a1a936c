"""Languages: negotiation, per-request gettext, and pages that speak the member's language."""

from __future__ import annotations

import pytest

from resolver.web.i18n import Catalogues, negotiate, parse_tag, preferences


def test_accept_language_is_ranked_by_quality_then_by_order() -> None:
    """Higher q first; equal q keeps the browser's order; q=0 and * are dropped."""
    header = "pt-BR, fr;q=0.8, de;q=0.9, it;q=0.8, nl;q=0, *;q=0.1"
    assert preferences(header) == ["pt-BR", "de", "fr", "it"]


@pytest.mark.parametrize(
    ("header", "code", "tag"),
    [
        ("fr-FR,fr;q=0.9,en;q=0.8", "fr", "fr-FR"),
        ("pt-BR, de;q=0.5, es;q=0.7", "es", "es"),
        ("en-GB", "en", "en-GB"),
        ("NL-be", "nl", "nl-BE"),
        ("de-XX", "de", "de"),
        ("it", "it", "it"),
    ],
)
def test_the_best_supported_language_is_chosen_with_its_regional_formats(
    header: str, code: str, tag: str
) -> None:
    """The first supported language wins; its region is kept for date formats and <html lang>."""
    language = negotiate(header, None, "en")
    assert (language.code, language.tag) == (code, tag)


@pytest.mark.parametrize("header", ["", "pt, ja;q=0.5", "*", "x" * 2000, ";q=1,,,", "en;q=abc"])
def test_anything_unsupported_or_malformed_gets_the_default_language(header: str) -> None:
    """No supported language in the header: the deployment's default (here Dutch)."""
    language = negotiate(header, None, "nl")
    assert language.code == "nl"


def test_lang_overrides_the_browser_and_is_ignored_when_unsupported() -> None:
    """?lang=de beats Accept-Language; ?lang=pt or garbage falls back to the header."""
    assert negotiate("fr", "de", "en").code == "de"
    assert negotiate("fr", "de-AT", "en").tag == "de-AT"
    assert negotiate("fr", "pt", "en").code == "fr"
    assert negotiate("fr", "<script>", "en").code == "fr"
    assert parse_tag("fr-CA\nX") is None


def test_gettext_translates_and_escapes_values() -> None:
    """Translations come from the catalogue; interpolated values are HTML-escaped."""
    gettext = Catalogues().functions(negotiate("", "fr", "en"))["gettext"]
    assert gettext("Redeem now") == "Utiliser maintenant"
    assert gettext("For %(name)s", name="<b>Alex</b>") == "Pour &lt;b&gt;Alex&lt;/b&gt;"


def test_english_is_the_source_language() -> None:
    """English needs no catalogue: its messages are the source texts."""
    gettext = Catalogues().functions(negotiate("", "en", "en"))["gettext"]
    assert gettext("Redeem now") == "Redeem now"


@pytest.mark.parametrize(("lang", "num", "word"), [("fr", 0, "seconde "), ("de", 0, "Sekunden")])
def test_ngettext_follows_each_languages_plural_rules(lang: str, num: int, word: str) -> None:
    """French says "0 seconde", German "0 Sekunden": the catalogue's Plural-Forms decide."""
    ngettext = Catalogues().functions(negotiate("", lang, "en"))["ngettext"]
    singular = (
        "Staff: a live screen has a ticking clock and a moving stripe. "
        "It stays live for %(num)d second after the redemption."
    )
    plural = singular.replace("second ", "seconds ")
    assert f"{num} {word}" in ngettext(singular, plural, num)

