"""Languages: negotiation, per-request gettext, and pages that speak the member's language."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import pytest

from resolver.web.i18n import Catalogues, negotiate, parse_tag, preferences
from tests.support.pages import form_of

if TYPE_CHECKING:
    import httpx

    from tests.support.passkit import PassKitDouble

LINK = {"externalId": "member-1", "campaignId": "camp-1"}


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


async def test_the_page_speaks_the_members_language(
    client: httpx.AsyncClient, passkit: PassKitDouble
) -> None:
    """Accept-Language picks the catalogue, PassKit's localized offer texts and <html lang>."""
    passkit.add_offer(
        "offer-fr",
        localizedOfferTitle={"translations": {"fr": "Café offert"}},
        localizedOfferDetails={"translations": {"fr": "Un café classique."}},
    )
    passkit.add("member-1", offer_id="offer-fr", display_name="Alex Member")
    page = await client.get("/redeem", params=LINK, headers={"accept-language": "fr-FR,en;q=0.5"})
    assert '<html lang="fr-FR">' in page.text
    assert page.headers["content-language"] == "fr-FR"
    assert "<h1>Utilisez votre coupon</h1>" in page.text
    assert "<h2>Café offert</h2>" in page.text
    assert "Un café classique." in page.text
    assert "Pour Alex Member" in page.text
    assert ">Utiliser maintenant</button>" in page.text
    assert 'name="lang"' not in page.text  # negotiated, not chosen: nothing to carry


async def test_lang_is_carried_through_the_form_and_the_redirect(
    client: httpx.AsyncClient, passkit: PassKitDouble
) -> None:
    """?lang=nl beats the browser's English and the receipt stays Dutch."""
    passkit.add("member-1")
    page = await client.get(
        "/redeem", params=LINK | {"lang": "nl"}, headers={"accept-language": "en"}
    )
    assert '<html lang="nl">' in page.text
    fields = form_of(page)
    assert fields["lang"] == "nl"
    answer = await client.post("/redeem", data=fields, headers={"accept-language": "en"})
    assert answer.headers["location"].endswith("?lang=nl")
    receipt = await client.get(answer.headers["location"], headers={"accept-language": "en"})
    assert '<html lang="nl">' in receipt.text
    assert "<h1>Ingewisseld</h1>" in receipt.text


async def test_an_unsupported_lang_is_ignored_and_not_carried(
    client: httpx.AsyncClient, passkit: PassKitDouble
) -> None:
    """?lang=xx (or markup) falls back to Accept-Language and never reaches the page."""
    passkit.add("member-1")
    for lang in ("xx", '"><script>'):
        page = await client.get(
            "/redeem", params=LINK | {"lang": lang}, headers={"accept-language": "de"}
        )
        assert page.status_code == 200
        assert '<html lang="de">' in page.text
        assert 'name="lang"' not in page.text
        assert "<script>" not in page.text


async def test_concurrent_pages_in_different_languages_never_mix(
    client: httpx.AsyncClient, passkit: PassKitDouble
) -> None:
    """Each render gets its own gettext: 60 simultaneous pages in 6 languages stay apart."""
    passkit.add("member-1")
    headings = {
        "en": "Redeem your coupon",
        "fr": "Utilisez votre coupon",
        "de": "Gutschein einlösen",
        "es": "Canjea tu cupón",
        "nl": "Wissel je coupon in",
        "it": "Riscatta il tuo coupon",
    }
    langs = list(headings) * 10
    pages = await asyncio.gather(
        *(client.get("/redeem", params=LINK, headers={"accept-language": lang}) for lang in langs)
    )
    for lang, page in zip(langs, pages, strict=True):
        assert f'<html lang="{lang}">' in page.text
        assert f"<h1>{headings[lang]}</h1>" in page.text


async def test_an_error_is_explained_in_the_members_language(
    client: httpx.AsyncClient, passkit: PassKitDouble
) -> None:
    """A spent or forged confirmation reads in French, with the form's ?lang= honoured."""
    passkit.add("member-1")
    data = LINK | {"token": "forged-but-well-formed-x", "lang": "fr"}
    answer = await client.post("/redeem", data=data, headers={"accept-language": "de"})
    assert answer.status_code == 403
    assert '<html lang="fr">' in answer.text
    assert "Cette confirmation a expiré ou concerne un autre coupon." in answer.text
    assert passkit.calls == 0


async def test_a_malformed_link_shows_the_technical_detail_beneath_a_translated_reason(
    client: httpx.AsyncClient,
) -> None:
    """The member reads Spanish; support can still read exactly what was wrong."""
    page = await client.get("/redeem?campaignId=camp-1", headers={"accept-language": "es"})
    assert page.status_code == 400
    assert "El enlace está incompleto o ha sido modificado." in page.text
    assert '<code lang="en">externalId is missing</code>' in page.text
