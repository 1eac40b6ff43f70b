"""The forms of a payload key the resolver looks up, in the order it tries them.

A flattened key is a path: dots between object members, ``[i]`` for list elements
(``messages[0][2].measurementValue``). An entry in a table may name a key

- exactly: ``bytes.temperature.values[0]``;
- with ``[*]`` for any element: ``readings[*].temperature``;
- with a selector, the element whose member has that value: ``data[label=Temperature].value``
  (the flattener keeps each element's scalar members beside its values: ``RawObservation.element``);
- as a pattern, ``*`` standing for any text (profiles only): ``RSSI*``, ``zclheader.*``.

Keys are tried whole first, then by their dotted suffixes, longest first (``BME280.Temperature``
finds ``Temperature``), unless a stripped path part names a medium or a part of the device
(``soil.temperature`` is not the air's ``temperature``): the ``suffix_stops`` of the global aliases.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator

_INDEX = re.compile(r"\[\d+\]")
_LAST_INDEX = re.compile(r"\[\d+\](?!.*\[\d+\])")
# A path part without its list indices and its digits and separators: "sensor_2[0]" -> "sensor".
_PART_NOISE = re.compile(r"\[[^\]]*\]|[\d_\-\s]")


def split_path(key: str) -> list[str]:
    """The dotted parts of a key; dots inside ``[...]`` (a selector's value) don't split."""
    parts: list[str] = []
    depth, start = 0, 0
    for position, char in enumerate(key):
        if char == "[":
            depth += 1
        elif char == "]":
            depth = max(0, depth - 1)
        elif char == "." and depth == 0:
            parts.append(key[start:position])
            start = position + 1
    parts.append(key[start:])
    return parts


def suffixes(key: str, stops: Collection[str]) -> Iterator[str]:
    """The key, then its dotted suffixes longest first, stopping after a part that is in ``stops``."""
    yield key
    if "." not in key:
        return
    parts = split_path(key)
    for cut in range(1, len(parts)):
        if not parts[cut]:
            return  # "temperature." has an empty last part: no suffix of it is a key
        stripped = _PART_NOISE.sub("", parts[cut - 1]).lower()
        if stripped in stops:
            return
        yield ".".join(parts[cut:])


def element_forms(form: str, element: tuple[tuple[str, str], ...], selectors: bool) -> Iterator[str]:
    """``form`` with its list indices as selectors, then as ``[*]``: the forms a table may name it by."""
    if "[" not in form:
        return
    starred = _INDEX.sub("[*]", form)
    if selectors and element:
        last = _LAST_INDEX.search(form)
        if last is not None:
            head = _INDEX.sub("[*]", form[: last.start()])
            tail = form[last.end() :]
            for member, value in element:
                yield f"{head}[{member}={value}]{tail}"
    if starred != form:
        yield starred


def pattern(key: str) -> re.Pattern[str]:
    """A profile key with ``*`` (any text) and ``[*]`` (any index) as a regular expression."""
    escaped = re.escape(key).replace(r"\[\*\]", r"\[\d+\]").replace(r"\*", ".*")
    return re.compile(f"^{escaped}$")


def is_pattern(key: str) -> bool:
    """Whether a table key has a ``*`` besides the ``[*]`` index wildcard."""
    return "*" in key.replace("[*]", "")


def has_selector(key: str) -> bool:
    return re.search(r"\[[^\]=*]+=[^\]]*\]", key) is not None


def loose(name: str) -> str:
    """A free-text name for matching without case, spaces or punctuation ("Relative humidity" -> "relativehumidity")."""
    return "".join(char for char in name.casefold() if char.isalnum())
