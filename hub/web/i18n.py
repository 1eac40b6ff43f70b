"""Languages of the public page: gettext catalogues as data, the reader's choice, Babel's locale formats.

Every string the page shows comes from ``hub/web/locales/<lang>/LC_MESSAGES/messages.po``; the
message ids are stable keys (``now.title``), so English is a catalogue like the others and no
sentence lives in code. Numbers, dates and "3 minutes ago" come from Babel (CLDR), per locale.
The language is the one the reader picked (``?lang=``, remembered in a cookie), else the best
match of ``Accept-Language``, else English.
"""

from __future__ import annotations

import math
import string
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from importlib import resources
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_datetime, format_timedelta
from babel.messages.pofile import read_po
from babel.numbers import format_decimal

# The page's languages, each named in itself for the switcher. Order: as offered.
LANGUAGES: dict[str, str] = {
    "en": "English",
    "da": "Dansk",
    "nb": "Norsk bokmål",
    "is": "Íslenska",
    "sv": "Svenska",
    "fi": "Suomi",
}
DEFAULT_LANGUAGE = "en"
COOKIE = "citylab_lang"
# Norwegian in any written form reads Bokmål before English.
_ALIASES = {"no": "nb", "nn": "nb"}
_NS_PER_S = 1_000_000_000


class MissingMessageError(KeyError):
    """A key the page asked for that the catalogue lacks: a test keeps every catalogue complete."""


@cache
def catalogue(language: str) -> dict[str, str]:
    """msgid → msgstr of one language's catalogue (empty translations left out)."""
    path = resources.files("hub.web").joinpath("locales", language, "LC_MESSAGES", "messages.po")
    with path.open("rb") as handle:
        parsed = read_po(handle, locale=language.replace("-", "_"))
    return {str(message.id): str(message.string) for message in parsed if message.id and message.string}


@cache
def template_ids() -> tuple[str, ...]:
    """Every msgid of ``messages.pot``, the list each language must translate."""
    path = resources.files("hub.web").joinpath("locales", "messages.pot")
    with path.open("rb") as handle:
        parsed = read_po(handle)
    return tuple(str(message.id) for message in parsed if message.id)


def placeholders(text: str) -> set[str]:
    """The ``{name}`` fields of a message, which every translation must keep."""
    return {field for _, field, _, _ in string.Formatter().parse(text) if field}


def negotiate(chosen: str | None, remembered: str | None, accept_language: str | None) -> str:
    """The reader's pick, else their remembered pick, else the best of Accept-Language, else English."""
    for candidate in (chosen, remembered):
        if candidate in LANGUAGES:
            return candidate
    for tag in _accepted(accept_language or ""):
        primary = tag.split("-")[0]
        language = _ALIASES.get(primary, primary)
        if language in LANGUAGES:
            return language
    return DEFAULT_LANGUAGE


def _accepted(header: str) -> list[str]:
    """Language tags of an Accept-Language header, best first (RFC 9110 quality values; q=0 is a refusal)."""
    weighted: list[tuple[float, int, str]] = []
    for position, part in enumerate(header.split(",")[:32]):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if tag and quality > 0 and math.isfinite(quality):
            weighted.append((-quality, position, tag.strip().lower()))
    return [tag for _, _, tag in sorted(weighted)]


@dataclass(frozen=True, slots=True)
class Translator:
    """One language's messages and formats, handed to the templates as ``_`` and friends."""

    language: str

    @property
    def locale(self) -> Locale:
        return Locale.parse(self.language)

    def __call__(self, key: str, **fields: object) -> str:
        text = catalogue(self.language).get(key) or catalogue(DEFAULT_LANGUAGE).get(key)
        if text is None:
            raise MissingMessageError(key)
        return text.format(**fields) if fields else text

    def number(self, value: float, decimals: int = 1) -> str:
        pattern = "#,##0" + ("." + "0" * decimals if decimals > 0 else "")
        return str(format_decimal(value, format=pattern, locale=self.language))

    def ago(self, time_ns: int, now_ns: int) -> str:
        """ "3 minutes ago", "for 3 minutter siden", "fyrir 3 mínútum"."""
        delta = timedelta(seconds=max(0, now_ns - time_ns) // _NS_PER_S)
        if delta < timedelta(minutes=1):
            return self("time.just_now")
        return str(format_timedelta(-delta, add_direction=True, threshold=1.1, locale=self.language))

    def time(self, time_ns: int, zone: ZoneInfo | None = None) -> str:
        """A short date and time in the zone given (a city's own), e.g. "3 Nov 14:05"."""
        moment = datetime.fromtimestamp(time_ns / _NS_PER_S, UTC)
        return str(format_datetime(moment, "d MMM HH:mm", tzinfo=zone or UTC, locale=self.language))
