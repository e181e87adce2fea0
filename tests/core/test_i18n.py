"""Italian is the default language and its catalogue is complete; English is the source language.

The tests compile the committed .po files into a temporary LOCALE_PATHS (with polib, as
`make messages` does), so they check what is committed, whether or not the git-ignored .mo files
were built, and changing the setting resets Django's translation caches before and after.
"""

import re
from decimal import Decimal
from pathlib import Path

import polib
import pytest
from django.utils import translation

import manifattura
from manifattura.calls.answers import QuestionSpec, clean_answer
from manifattura.calls.enums import QuestionKind
from tests.factories import SiteFactory

LOCALE = Path(manifattura.__file__).resolve().parent / "locale"
IT_PO = LOCALE / "it" / "LC_MESSAGES" / "django.po"
EN_PO = LOCALE / "en" / "LC_MESSAGES" / "django.po"

# What must survive translation: named and positional %-placeholders (as gettext and
# {% blocktranslate %} write them), str.format fields, and literal %%.
PLACEHOLDER = re.compile(
    r"%\([^)]+\)[#0 +-]*\d*(?:\.\d+)?[a-zA-Z]"  # %(name)s, %(size).1f, %(n)d
    r"|%(?:\.\d+)?[sdif]"  # %s, %d, %.2f
    r"|%%"
    r"|\{\w*\}"  # {noun}, {}
)
HTML_ELEMENTS = "a|abbr|b|br|code|em|i|kbd|li|ol|p|small|span|strong|ul"
TAG = re.compile(rf"</?(?:{HTML_ELEMENTS})\b[^>]*>")


def _placeholders(text: str) -> list[str]:
    return sorted(PLACEHOLDER.findall(text))


def _tags(text: str) -> list[str]:
    return sorted(TAG.findall(text))


def _edges(text: str) -> tuple[str, str]:
    return text[: len(text) - len(text.lstrip())], text[len(text.rstrip()) :]


@pytest.fixture(scope="module")
def it_catalogue():
    return polib.pofile(str(IT_PO))


def _entries(catalogue):
    return [entry for entry in catalogue if not entry.obsolete]


def _label(entry) -> str:
    where = entry.occurrences[0][0] if entry.occurrences else "?"
    return f"{entry.msgid[:70]!r} ({where})"


@pytest.fixture
def compiled_locale(settings, tmp_path):
    """Compile the committed catalogues and point Django at them (caches reset on change)."""
    for po_path in LOCALE.glob("*/LC_MESSAGES/*.po"):
        target = tmp_path / po_path.relative_to(LOCALE).with_suffix(".mo")
        target.parent.mkdir(parents=True, exist_ok=True)
        polib.pofile(str(po_path)).save_as_mofile(str(target))
    settings.LOCALE_PATHS = [tmp_path]
    return tmp_path


# --- (a) the catalogues ----------------------------------------------------------------------------


def test_the_catalogues_exist_with_two_plural_forms():
    for path in (IT_PO, EN_PO):
        catalogue = polib.pofile(str(path))
        assert catalogue.metadata["Plural-Forms"].replace(" ", "") == "nplurals=2;plural=(n!=1);", path
        assert not catalogue.metadata_is_fuzzy, f"{path}: the header is still marked fuzzy"


def test_italian_and_english_catalogues_hold_the_same_messages(it_catalogue):
    english = polib.pofile(str(EN_PO))
    keys = {(entry.msgctxt, entry.msgid) for entry in _entries(it_catalogue)}
    assert keys == {(entry.msgctxt, entry.msgid) for entry in _entries(english)}
    assert len(keys) > 100


def test_every_italian_entry_is_translated_and_none_is_fuzzy(it_catalogue):
    untranslated = [_label(entry) for entry in _entries(it_catalogue) if not entry.translated()]
    fuzzy = [_label(entry) for entry in _entries(it_catalogue) if "fuzzy" in entry.flags]
    assert not untranslated, f"{len(untranslated)} untranslated: {untranslated[:20]}"
    assert not fuzzy, f"{len(fuzzy)} fuzzy: {fuzzy[:20]}"


def _pairs(entry):
    """(source, translation) pairs: the singular form against msgid, the others against msgid_plural."""
    if entry.msgid_plural:
        forms = entry.msgstr_plural
        return [(entry.msgid if index == 0 else entry.msgid_plural, forms[index]) for index in sorted(forms)]
    return [(entry.msgid, entry.msgstr)]


def test_every_translation_keeps_the_placeholders_tags_and_edges(it_catalogue):
    problems = []
    for entry in _entries(it_catalogue):
        for source, translated in _pairs(entry):
            if _placeholders(source) != _placeholders(translated):
                problems.append(f"placeholders {_placeholders(source)} → {_placeholders(translated)}: {_label(entry)}")
            if _tags(source) != _tags(translated):
                problems.append(f"HTML tags differ: {_label(entry)}")
            if _edges(source) != _edges(translated):
                problems.append(f"leading/trailing whitespace differs: {_label(entry)}")
    assert not problems, "\n".join(problems)


def test_plural_entries_have_both_italian_forms(it_catalogue):
    plurals = [entry for entry in _entries(it_catalogue) if entry.msgid_plural]
    assert plurals
    for entry in plurals:
        assert sorted(entry.msgstr_plural) == [0, 1], _label(entry)
        assert entry.msgstr_plural[0] != entry.msgstr_plural[1], _label(entry)


def test_plural_forms_work_in_both_languages(compiled_locale):
    singular, plural = "%(counter)s site found", "%(counter)s sites found"
    with translation.override("it"):
        assert translation.ngettext(singular, plural, 1) % {"counter": 1} == "1 area trovata"
        assert translation.ngettext(singular, plural, 0) % {"counter": 0} == "0 aree trovate"
        assert translation.ngettext(singular, plural, 3) % {"counter": 3} == "3 aree trovate"
    with translation.override("en"):
        assert translation.ngettext(singular, plural, 1) % {"counter": 1} == "1 site found"
        assert translation.ngettext(singular, plural, 3) % {"counter": 3} == "3 sites found"


def test_one_english_word_with_two_meanings_gets_one_italian_word_each(compiled_locale):
    """A button that opens a record is "Apri", a call that is open is "Aperto"; a count of reviews is
    feminine ("Assegnate"), a space's status masculine ("Assegnato")."""
    with translation.override("it"):
        assert translation.pgettext("verb: open a record", "Open") == "Apri"
        assert translation.gettext("Open") == "Aperto"
        assert translation.pgettext("number of reviews", "Assigned") == "Assegnate"
        assert translation.pgettext("number of reviews", "Completed") == "Completate"
        assert translation.gettext("Assigned") == "Assegnato"
    with translation.override("en"):
        assert translation.pgettext("verb: open a record", "Open") == "Open"


# --- (b) pages in Italian by default, in English on request -----------------------------------------

PAGES = {
    "/": (["Aree dismesse", "Il programma in cifre", "superficie totale", "Accedi"],
          ["Abandoned sites", "The programme in figures", "total surface", "Log in"]),
    "/sites/": (["Filtra le aree", "Applica i filtri", "1 area trovata", "Periferia"],
                ["Filter the sites", "Apply filters", "1 site found", "Periphery"]),
    "/calls/": (["Bandi", "Al momento non ci sono bandi aperti", "Vai al contenuto principale"],
                ["Calls", "No call is open right now", "Skip to main content"]),
}


@pytest.mark.italian
@pytest.mark.django_db
@pytest.mark.parametrize("url", list(PAGES))
def test_public_pages_are_italian_by_default_and_english_with_the_language_cookie(client, compiled_locale, url):
    SiteFactory(surface_m2=Decimal("1000"))
    italian, english = PAGES[url]

    text = client.get(url).text
    assert '<html lang="it">' in text
    for words in italian:
        assert words in text, f"{url} (it): {words!r} missing"
    for words in english[1:]:
        assert words not in text, f"{url} (it): English {words!r} leaked"

    client.cookies["django_language"] = "en"
    text = client.get(url).text
    assert '<html lang="en">' in text
    for words in english:
        assert words in text, f"{url} (en): {words!r} missing"
    for words in italian[1:]:
        assert words not in text, f"{url} (en): Italian {words!r} left"


@pytest.mark.django_db
def test_accept_language_english_also_gives_english(client, compiled_locale):
    text = client.get("/calls/", headers={"Accept-Language": "en"}).text
    assert '<html lang="en">' in text and "No call is open right now" in text


# --- (c) translated error messages -------------------------------------------------------------------


def _short_text(max_length):
    return QuestionSpec(id=1, section_id=1, section_title="Progetto", label="Titolo", kind=QuestionKind.SHORT_TEXT,
                        required=True, max_length=max_length)


@pytest.mark.italian
def test_a_validation_error_is_italian_by_default_and_english_on_request(compiled_locale):
    question = _short_text(5)
    with translation.override("it"), pytest.raises(ValueError) as italian:
        clean_answer(question, "abcdefgh")
    assert str(italian.value) == "Scrivere al massimo 5 caratteri (attualmente 8)."
    with translation.override("en"), pytest.raises(ValueError) as english:
        clean_answer(question, "abcdefgh")
    assert str(english.value) == "Write at most 5 characters (now 8)."


def test_a_number_error_and_a_date_error_are_italian(compiled_locale):
    number = QuestionSpec(id=2, section_id=1, section_title="S", label="N", kind=QuestionKind.NUMBER, required=True)
    date = QuestionSpec(id=3, section_id=1, section_title="S", label="D", kind=QuestionKind.DATE, required=True)
    with translation.override("it"):
        with pytest.raises(ValueError, match="Scrivere un numero, ad esempio 1500 o 1500,50."):
            clean_answer(number, "mille")
        with pytest.raises(ValueError, match="Scrivere la data nel formato AAAA-MM-GG."):
            clean_answer(date, "31/12/2026")
