"""Languages: gettext catalogues, Accept-Language negotiation and per-request gettext.

The catalogues are the gettext `.po` files under `resolver/locale/`, read with Babel once at
start-up (so a fresh clone needs no compile step). English is the source language: its texts are
the message ids, so it has no catalogue of its own.

Jinja's i18n extension would install one language on the shared `Environment`, which concurrent
requests in different languages would race on. Each render instead passes its own `gettext` and
`ngettext` in the template context (`Catalogues.functions`); the extension only compiles
`{% trans %}` blocks and the `_()` alias, which look these names up in the context.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from functools import lru_cache
from gettext import NullTranslations
from pathlib import Path
from typing import TYPE_CHECKING, Any

from babel import Locale, UnknownLocaleError
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations
from markupsafe import Markup, escape

if TYPE_CHECKING:
    from collections.abc import Callable

LANGUAGES = ("en", "fr", "de", "es", "nl", "it")
SOURCE_LANGUAGE = "en"
LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
DOMAIN = "messages"

# A language tag as browsers send it ("fr", "fr-CA", "zh-Hant-TW"); anything else is skipped.
TAG = re.compile(r"[A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8}){0,4}")
# Enough for any real browser; a hostile header does not buy more work than this.
MAX_PREFERENCES = 12
MAX_HEADER = 512


def N_(message: str) -> str:  # named as gettext tools expect
    """Mark `message` for extraction; it is translated where it is shown."""
    return message


@dataclass(frozen=True, slots=True)
class Language:
    """The language a page is shown in."""

    code: str  # its catalogue, one of LANGUAGES
    locale: Locale  # dates and times: the most specific locale asked for, e.g. en_GB

    @property
    def tag(self) -> str:
        """The BCP 47 tag for `<html lang>` and Content-Language, e.g. "en-GB"."""
        return str(self.locale).replace("_", "-")


def parse_tag(tag: str) -> Language | None:
    """The supported language `tag` names ("fr-CA" → fr in fr_CA formats), else None."""
    if len(tag) > 35 or not TAG.fullmatch(tag):
        return None
    primary = tag.split("-", 1)[0]
    for candidate in dict.fromkeys((tag, primary)):
        try:
            locale = Locale.parse(candidate, sep="-")
        except (ValueError, UnknownLocaleError):
            continue  # an unknown region or script: try the bare language
        return Language(locale.language, locale) if locale.language in LANGUAGES else None
    return None


def preferences(accept_language: str) -> list[str]:
    """The tags of an Accept-Language header, most preferred first (q=0 and `*` dropped)."""
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate(accept_language.split(",")):
        tag, _, params = part.strip().partition(";")
        weight = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = 0.0
        if tag and tag != "*" and 0 < weight <= 1:
            ranked.append((-weight, index, tag.strip()))
    return [tag for _, _, tag in sorted(ranked)[:MAX_PREFERENCES]]


def negotiate(accept_language: str, override: str | None, default: str) -> Language:
    """`?lang=` when it names a supported language, else the browser's best, else `default`."""
    # Cut before caching, so no header can make a cache entry bigger than this.
    return _negotiate(accept_language[:MAX_HEADER], (override or "")[:MAX_HEADER], default)


@lru_cache(maxsize=1024)
def _negotiate(accept_language: str, override: str, default: str) -> Language:
    for tag in ([override] if override else []) + preferences(accept_language):
        language = parse_tag(tag)
        if language is not None:
            return language
    return Language(default, Locale.parse(default))


class Catalogues:
    """Every language's translations, read from the `.po` files once at start-up."""

    def __init__(self, directory: Path = LOCALE_DIR) -> None:
        self._translations: dict[str, NullTranslations] = {SOURCE_LANGUAGE: NullTranslations()}
        for code in LANGUAGES:
            if code != SOURCE_LANGUAGE:
                self._translations[code] = load_catalogue(
                    directory / code / "LC_MESSAGES" / f"{DOMAIN}.po", code
                )

    def functions(self, language: Language) -> dict[str, Callable[..., Markup]]:
        """`gettext` and `ngettext` for one render, in Jinja's "newstyle" form."""
        translations = self._translations[language.code]

        def gettext(message: str, **variables: Any) -> Markup:
            # Translations are text, not markup: escape them, then let Markup's % escape the
            # values too (unless a value is itself Markup, such as a <time> element).
            return escape(translations.gettext(message)) % variables

        def ngettext(singular: str, plural: str, num: int, **variables: Any) -> Markup:
            variables.setdefault("num", num)
            return escape(translations.ngettext(singular, plural, num)) % variables

        return {"gettext": gettext, "ngettext": ngettext}


def load_catalogue(path: Path, code: str) -> Translations:
    """A `.po` file as gettext translations, compiled in memory (fuzzy entries left out)."""
    with path.open("rb") as file:
        catalog = read_po(file, locale=code, domain=DOMAIN)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled, domain=DOMAIN)
