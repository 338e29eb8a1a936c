"""The message catalogues are complete: every message in the source, translated in every language.

The source (templates and web modules) is the truth: a message added there and not to
`messages.pot` fails here, and so does any catalogue that lacks it, leaves it empty or fuzzy,
copies the English unchanged, or breaks a `%(placeholder)s`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from resolver.web.i18n import LANGUAGES, LOCALE_DIR, SOURCE_LANGUAGE

if TYPE_CHECKING:
    from babel.messages.catalog import Catalog

PACKAGE = LOCALE_DIR.parent
TRANSLATED = [code for code in LANGUAGES if code != SOURCE_LANGUAGE]
# Messages a language may leave as in English, because that is what it says too. Keep it short.
SAME_AS_ENGLISH: dict[str, set[str]] = {}
REGENERATE = (
    "run: uv run pybabel extract -F resolver/locale/babel.cfg -o resolver/locale/messages.pot "
    "--no-location --sort-output resolver && uv run pybabel update -i "
    "resolver/locale/messages.pot -d resolver/locale --no-fuzzy-matching --ignore-obsolete"
)


def message_ids(catalog: Catalog) -> set[str]:
    return {
        message.id if isinstance(message.id, str) else message.id[0]
        for message in catalog
        if message.id
    }


def source_messages() -> set[str]:
    """Every message the templates and web modules mark for translation, extracted afresh."""
    with (LOCALE_DIR / "babel.cfg").open() as file:
        method_map, options_map = parse_mapping_cfg(file)  # type: ignore[no-untyped-call]  # Babel ships no hints for it
    found = extract_from_dir(str(PACKAGE), method_map, options_map, keywords=DEFAULT_KEYWORDS)
    return {message if isinstance(message, str) else message[0] for *_, message, _, _ in found}


def load(code: str) -> Catalog:
    with (LOCALE_DIR / code / "LC_MESSAGES" / "messages.po").open("rb") as file:
        return read_po(file, locale=code)


def template() -> Catalog:
    with (LOCALE_DIR / "messages.pot").open("rb") as file:
        return read_po(file)


def test_the_template_holds_exactly_the_messages_of_the_source() -> None:
    """messages.pot is regenerated whenever a template or module changes its texts."""
    source, pot = source_messages(), message_ids(template())
    assert source == pot, f"{REGENERATE}\nnew: {source - pot}\ngone: {pot - source}"


def test_every_language_but_english_has_a_catalogue() -> None:
    """One .po per supported language; English is the source and needs none."""
    found = {path.parent.parent.name for path in LOCALE_DIR.glob("*/LC_MESSAGES/messages.po")}
    assert found == set(TRANSLATED)


@pytest.mark.parametrize("code", TRANSLATED)
def test_each_catalogue_translates_every_message(code: str) -> None:
    """No missing, extra, empty, fuzzy or copied-English message, and no broken placeholder."""
    catalog = load(code)
    assert message_ids(catalog) == message_ids(template()), REGENERATE
    problems = []
    for message in catalog:
        if not message.id:
            continue
        ids = (message.id,) if isinstance(message.id, str) else tuple(message.id)
        texts = (
            (message.string,) if isinstance(message.string, str) else tuple(message.string or ())
        )
        if message.fuzzy:
            problems.append(f"fuzzy: {ids[0]!r}")
        if not all(text and text.strip() for text in texts):
            problems.append(f"untranslated: {ids[0]!r}")
        elif set(texts) & set(ids) and ids[0] not in SAME_AS_ENGLISH.get(code, set()):
            problems.append(f"still English: {ids[0]!r}")
    problems += [f"{message.id!r}: {errors}" for message, errors in catalog.check()]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("code", TRANSLATED)
def test_each_catalogue_declares_its_plural_rule(code: str) -> None:
    """ngettext picks forms by the catalogue's own Plural-Forms header."""
    catalog = load(code)
    assert catalog.num_plurals == 2
    plurals = [m for m in catalog if m.id and not isinstance(m.id, str)]
    assert plurals
    assert all(len(tuple(m.string or ())) == 2 for m in plurals)
