"""The resolver's data: alias tables and device profiles, loaded once from ``hub/data`` and checked.

- ``hub/data/aliases/global.yaml``: layer 4, keys whose meaning can't be wrong, and CayenneLPP names;
- ``hub/data/aliases/formats/<format>.yaml``: layer 3, a format's aliases, its per-context aliases and the
  units it implies; ``include`` pulls in a set from ``hub/data/aliases/shared/<set>.yaml``;
- ``hub/data/profiles/<vendor>/<model>.yaml``: layer 2, one device model's keys (see its README.md).

Every entry is checked with ``Vocabulary.check_meaning``; errors name the file and the key.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from core.model import KeyMeaning
from hub.vocabulary import Vocabulary, load_vocabulary

# A profile entry that says: this key is known, and it is not a reading.
IGNORE = "ignore"
# CayenneLPP channel: `temperature_1`, `temperatureSensor.1`.
CHANNEL_SUFFIX = re.compile(r"^(?P<name>.+?)[._]\d{1,3}$")


class Layer(StrEnum):
    """Where a key's meaning came from, in the order the resolver asks."""

    SOURCE = "source"  # the lab's `mappings` and the mappings its codec options declare
    PROFILE = "profile"  # the device model's profile
    FORMAT = "format"  # the format's aliases
    GLOBAL = "global"  # global aliases and the vocabulary's own names


class ResolverDataError(ValueError):
    """An alias table or profile that can't be used; the message names the file and the key."""


@dataclass(frozen=True, slots=True)
class Resolution:
    """What a key means, and why: the layer and entry that decided, and where that was declared."""

    # None: the entry marks the key as known and not a reading (a profile's `ignore`).
    quantity: str | None
    # The unit the key's value is in when the payload states none; None: the source's and the
    # format's default units, then the quantity's canonical unit.
    unit: str | None
    scale: float | None
    layer: Layer
    entry: str  # the entry that matched: "Temperature" for the key "BME280.Temperature"
    origin: str  # "aliases/global.yaml", "profiles/decentlab/dl-pm.yaml", "mappings.level_cm", ...


@dataclass(frozen=True, slots=True)
class AliasTable:
    """One layer's entries. Keys match whole, then by dotted suffix; ``channels`` by CayenneLPP name."""

    keys: Mapping[str, Resolution] = field(default_factory=dict)
    channels: Mapping[str, Resolution] = field(default_factory=dict)


EMPTY_TABLE = AliasTable()


@dataclass(frozen=True, slots=True)
class FormatAliases:
    """Layer 3 for one format."""

    table: AliasTable = EMPTY_TABLE
    # Context (an NGSI-LD entity type) -> aliases tried before the format's other aliases.
    contexts: Mapping[str, AliasTable] = field(default_factory=dict)
    # Quantity -> the unit the format implies when neither the payload nor a mapping gives one.
    default_units: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Profile:
    """Layer 2: what one device model's keys mean."""

    model: str  # "vendor/model", as DecodedMessage.device_model names it
    name: str
    table: AliasTable


@dataclass(frozen=True, slots=True)
class AliasData:
    global_table: AliasTable
    formats: Mapping[str, FormatAliases]

    def for_format(self, format_name: str) -> FormatAliases:
        return self.formats.get(format_name, _NO_FORMAT_ALIASES)


_NO_FORMAT_ALIASES = FormatAliases()


@dataclass(frozen=True, slots=True)
class ProfileRegistry:
    profiles: Mapping[str, Profile] = field(default_factory=dict)

    def get(self, device_model: str | None) -> Profile | None:
        return self.profiles.get(device_model) if device_model else None


# --- file schemas ----------------------------------------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Entry(_Strict):
    quantity: str
    unit: str | None = None
    scale: float | None = None


Entry = str | _Entry
_ModelT = TypeVar("_ModelT", bound=BaseModel)


class _SharedFile(_Strict):
    aliases: dict[str, Entry] = {}


class _GlobalFile(_SharedFile):
    channel_aliases: dict[str, Entry] = {}


class _FormatFile(_GlobalFile):
    include: list[str] = []
    contexts: dict[str, dict[str, Entry]] = {}
    default_units: dict[str, str] = {}


class _ProfileFile(_Strict):
    name: str = ""
    source: str = ""
    keys: dict[str, Entry]


def _read(file: Traversable, label: str) -> Any:
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ResolverDataError(f"{label}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ResolverDataError(f"{label}: (top level): expected a mapping")
    return _text_keys(data)


def _text_keys(value: Any) -> Any:
    """YAML reads `1:` as an integer; keys are payload keys, compared as text."""
    if isinstance(value, dict):
        return {str(key): _text_keys(item) for key, item in value.items()}
    return value


def _validate(model: type[_ModelT], data: Any, label: str) -> _ModelT:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = [
            f"{label}: {'.'.join(str(part) for part in error['loc']) or '(top level)'}: {error['msg']}"
            for error in exc.errors()
        ]
        raise ResolverDataError("\n".join(problems)) from None


def _resolution(
    entry: Entry, *, key: str, where: str, label: str, layer: Layer, vocabulary: Vocabulary, allow_ignore: bool
) -> Resolution:
    if isinstance(entry, str):
        if entry == IGNORE and allow_ignore:
            return Resolution(None, None, None, layer, key, label)
        entry = _Entry(quantity=entry)
    meaning = KeyMeaning(entry.quantity, entry.unit, entry.scale)
    problem = vocabulary.check_meaning(meaning)
    if problem is not None:
        raise ResolverDataError(f"{label}: {where}.{key}.{problem[0]}: {problem[1]}")
    return Resolution(meaning.quantity, meaning.unit, meaning.scale, layer, key, label)


def _table_entries(
    entries: Mapping[str, Entry],
    *,
    where: str,
    label: str,
    layer: Layer,
    vocabulary: Vocabulary,
    allow_ignore: bool = False,
) -> dict[str, Resolution]:
    return {
        key: _resolution(
            entry, key=key, where=where, label=label, layer=layer, vocabulary=vocabulary, allow_ignore=allow_ignore
        )
        for key, entry in entries.items()
    }


def _merge(into: dict[str, Resolution], more: Mapping[str, Resolution], label: str, where: str) -> None:
    for key, resolution in more.items():
        earlier = into.get(key)
        if earlier is not None:
            raise ResolverDataError(f"{label}: {where}.{key}: already declared in {earlier.origin}")
        into[key] = resolution


# --- loading ---------------------------------------------------------------------------------------------


def load_aliases(root: Traversable | None = None, vocabulary: Vocabulary | None = None) -> AliasData:
    """The global and per-format alias layers from ``root`` (default: ``hub/data/aliases``)."""
    root = root or resources.files("hub.data").joinpath("aliases")
    vocabulary = vocabulary or load_vocabulary()

    label = "aliases/global.yaml"
    raw = _validate(_GlobalFile, _read(root.joinpath("global.yaml"), label), label)
    keys = {name: Resolution(name, None, None, Layer.GLOBAL, name, "quantities.yaml") for name in vocabulary.quantities}
    _merge(
        keys,
        _table_entries(raw.aliases, where="aliases", label=label, layer=Layer.GLOBAL, vocabulary=vocabulary),
        label,
        "aliases",
    )
    channels = _table_entries(
        raw.channel_aliases, where="channel_aliases", label=label, layer=Layer.GLOBAL, vocabulary=vocabulary
    )
    global_table = AliasTable(keys, channels)

    formats: dict[str, FormatAliases] = {}
    for file in _yaml_files(root.joinpath("formats")):
        format_name = file.name.rsplit(".", 1)[0]
        formats[format_name] = _load_format(root, file, f"aliases/formats/{file.name}", vocabulary)
    return AliasData(global_table, formats)


def _load_format(root: Traversable, file: Traversable, label: str, vocabulary: Vocabulary) -> FormatAliases:
    raw = _validate(_FormatFile, _read(file, label), label)
    keys: dict[str, Resolution] = {}
    for index, name in enumerate(raw.include):
        shared_label = f"aliases/shared/{name}.yaml"
        shared_file = root.joinpath("shared").joinpath(f"{name}.yaml")
        if not shared_file.is_file():
            raise ResolverDataError(f"{label}: include.{index}: no alias set {shared_label}")
        shared = _validate(_SharedFile, _read(shared_file, shared_label), shared_label)
        entries = _table_entries(
            shared.aliases, where="aliases", label=shared_label, layer=Layer.FORMAT, vocabulary=vocabulary
        )
        _merge(keys, entries, label, f"include.{index}")
    own = _table_entries(raw.aliases, where="aliases", label=label, layer=Layer.FORMAT, vocabulary=vocabulary)
    _merge(keys, own, label, "aliases")
    channels = _table_entries(
        raw.channel_aliases, where="channel_aliases", label=label, layer=Layer.FORMAT, vocabulary=vocabulary
    )
    contexts = {
        context: AliasTable(
            _table_entries(entries, where=f"contexts.{context}", label=label, layer=Layer.FORMAT, vocabulary=vocabulary)
        )
        for context, entries in raw.contexts.items()
    }
    for quantity, unit in raw.default_units.items():
        problem = vocabulary.check_meaning(KeyMeaning(quantity, unit))
        if problem is not None:
            raise ResolverDataError(f"{label}: default_units.{quantity}: {problem[1]}")
    return FormatAliases(AliasTable(keys, channels), contexts, dict(raw.default_units))


def load_profiles(root: Traversable | None = None, vocabulary: Vocabulary | None = None) -> ProfileRegistry:
    """Every ``<vendor>/<model>.yaml`` under ``root`` (default: ``hub/data/profiles``), by "vendor/model"."""
    root = root or resources.files("hub.data").joinpath("profiles")
    vocabulary = vocabulary or load_vocabulary()
    profiles: dict[str, Profile] = {}
    for vendor in sorted(root.iterdir(), key=lambda item: item.name) if root.is_dir() else []:
        if not vendor.is_dir() or vendor.name.startswith((".", "_")):
            continue
        for file in _yaml_files(vendor):
            model = f"{vendor.name}/{file.name.rsplit('.', 1)[0]}"
            label = f"profiles/{model}.yaml"
            raw = _validate(_ProfileFile, _read(file, label), label)
            keys = _table_entries(
                raw.keys, where="keys", label=label, layer=Layer.PROFILE, vocabulary=vocabulary, allow_ignore=True
            )
            profiles[model] = Profile(model, raw.name or model, AliasTable(keys))
    return ProfileRegistry(profiles)


def _yaml_files(folder: Traversable) -> Iterator[Traversable]:
    if not folder.is_dir():
        return
    for item in sorted(folder.iterdir(), key=lambda item: item.name):
        if item.is_file() and item.name.endswith((".yaml", ".yml")):
            yield item


@cache
def shipped_aliases() -> AliasData:
    return load_aliases()


@cache
def shipped_profiles() -> ProfileRegistry:
    return load_profiles()
