"""The page's languages: every catalogue complete, placeholders kept, no sentence in code, the reader's choice."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from hub.labs import load_labs
from hub.vocabulary import load_vocabulary
from hub.web.bands import load_bands
from hub.web.i18n import LANGUAGES, Translator, negotiate, placeholders, template_ids
from hub.web.views import PERIODS

WEB = Path(__file__).resolve().parents[2] / "hub" / "web"
LABS = Path(__file__).resolve().parents[2] / "labs"
# Keys written literally in the templates and the code: _("key"), tr("key"), optional(tr, "key", …).
_LITERAL = re.compile(r"""(?:\b_|\btr)\(\s*["']([a-z_]+\.[A-Za-z0-9_./%]+)["']""")


def _catalogue(language: str) -> dict[str, str]:
    with (WEB / "locales" / language / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        return {str(m.id): str(m.string) for m in read_po(handle) if m.id}


def test_the_page_offers_english_danish_bokmal_icelandic_swedish_and_finnish():
    assert set(LANGUAGES) == {"en", "da", "nb", "is", "sv", "fi"}
    assert {path.name for path in (WEB / "locales").iterdir() if path.is_dir()} == set(LANGUAGES)


@pytest.mark.parametrize("language", list(LANGUAGES))
def test_every_message_is_translated_in_every_language(language):
    catalogue = _catalogue(language)
    ids = set(template_ids())
    missing = sorted(key for key in ids if not catalogue.get(key, "").strip())
    assert not missing, f"{language}: missing or empty: {missing}"
    assert not sorted(set(catalogue) - ids), f"{language}: messages not in messages.pot"
    for key in ids:
        assert placeholders(catalogue[key]) == placeholders(_catalogue("en")[key]), (language, key)


def test_every_key_the_page_uses_is_in_the_template():
    ids = set(template_ids())
    used = set()
    for path in [*(WEB / "templates").glob("*.html"), *WEB.glob("*.py")]:
        used |= set(_LITERAL.findall(path.read_text(encoding="utf-8")))
    assert used, "no keys found: the pattern is broken"
    assert not sorted(used - ids)
    # Keys made from data: quantity and unit names, bands, periods, reference periods, the network's cities.
    vocabulary = load_vocabulary()
    made = {f"quantity.{q}" for q in vocabulary.quantities}
    made |= {f"unit.{spec.unit}" for spec in vocabulary.quantities.values()}
    made |= {f"band.{level.name}" for level in load_bands().levels}
    made |= {f"period.{p}" for p in PERIODS}
    made |= {f"averaging.{ref.period}" for spec in vocabulary.quantities.values() for ref in spec.references}
    made |= {f"city.{lab.city}" for lab in load_labs(LABS).values()}
    made |= {"reference.who", "reference.eu", "reference.who_short", "reference.eu_short", "time.just_now"}
    assert not sorted(made - ids)
    # And nothing in the template that nothing uses.
    assert not sorted(ids - used - made)


def test_no_sentence_of_the_page_is_written_in_a_template():
    for path in (WEB / "templates").glob("*.html"):
        text = re.sub(r"{[{%#].*?[}%#]}", "", path.read_text(encoding="utf-8"), flags=re.DOTALL)
        text = re.sub(r"<[^>]+>|&\w+;", " ", text)
        words = re.findall(r"[A-Za-zÆØÅæøåÍíÞþÐðÖöÄä]{3,}", text)
        assert not words, f"{path.name}: text outside the catalogues: {words[:10]}"


@pytest.mark.parametrize(
    ("chosen", "remembered", "header", "expected"),
    [
        ("da", "sv", "fi", "da"),
        (None, "sv", "fi", "sv"),
        (None, None, "is-IS,is;q=0.9,en;q=0.5", "is"),
        (None, None, "de-DE, no;q=0.8, en;q=0.7", "nb"),
        (None, None, "nn", "nb"),
        (None, None, "fr, fi;q=0", "en"),
        (None, None, "fr;q=0.9, sv;q=0.95", "sv"),
        ("xx", "yy", None, "en"),
        (None, None, "q=;;;,,,", "en"),
    ],
)
def test_the_language_is_the_readers_pick_then_accept_language_then_english(chosen, remembered, header, expected):
    assert negotiate(chosen, remembered, header) == expected


def test_numbers_and_times_follow_the_locale():
    assert Translator("en").number(12345.67) == "12,345.7"
    assert Translator("da").number(12345.67) == "12.345,7"
    assert Translator("nb").number(7.25, 2) == "7,25"
    assert Translator("is").ago(0, 3 * 60 * 10**9) == "fyrir 3 mínútum"
    assert Translator("da").ago(0, 3 * 60 * 10**9) == "for 3 minutter siden"
    assert Translator("en").ago(0, 20 * 10**9) == "just now"
    assert Translator("fi")("quantity.LAeq") == "Melu"
    assert Translator("en")("compare.trends", quantity="PM2.5") == "PM2.5 in each city"
