"""The resolver's data: alias tables and device profiles, loaded once from ``hub/data`` and checked.

- ``hub/data/aliases/global.yaml``: layer 4, keys whose meaning can't be wrong, the vocabulary's own
  names (but ``own_names.exclude``), the fallback guesses for devices without a profile, the dotted-suffix
  stops, and CayenneLPP names;
- ``hub/data/aliases/formats/<format>.yaml``: layer 3, a format's aliases, its per-context aliases
  (NGSI-LD entity types), its definition URIs and loose names (SensorThings), its fallback guesses and
  the units it implies; ``include`` pulls in a set from ``hub/data/aliases/shared/<set>.yaml``;
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
from typing import Any, Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from core.model import KeyMeaning
from hub.resolver.keys import has_selector, is_pattern, loose, pattern
from hub.vocabulary import Vocabulary, load_vocabulary

# An entry that says: this key is known, and it is not a reading.
IGNORE = "ignore"
# An entry that says: this key holds the measurement time of the message's other values.
TIME = "time"
# CayenneLPP channel: `temperature_1`, `temperatureSensor.1`.
CHANNEL_SUFFIX = re.compile(r"^(?P<name>.+?)[._]\d{1,3}$")
# What a profile's examples live in, beside it: `hub/data/profiles/<vendor>/testdata/<model>.yaml`.
TESTDATA = "testdata"


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

    # None: the entry marks the key as known and not a reading (`ignore`, or a `time` key).
    quantity: str | None
    # The unit the key's value is in when the payload states none; None: the source's and the
    # format's default units, then the quantity's canonical unit.
    unit: str | None
    scale: float | None
    layer: Layer
    entry: str  # the entry that matched: "Temperature" for the key "BME280.Temperature"
    origin: str  # "aliases/global.yaml", "profiles/decentlab/dl-pm.yaml", "mappings.level_cm", ...
    # A guess for devices without a profile (a `fallback` entry): right for most devices that send
    # the key, wrong for some; never used for a device that has a profile.
    fallback: bool = False
    # What the guess may get wrong, shown with a rejection ("a gauge or water pressure?").
    doubt: str | None = None
    # Why an `ignore` entry ignores the key (shown to the operator).
    reason: str | None = None
    # The key holds the measurement time of the message's other values (Dragino `Systimestamp`).
    time: bool = False
    # The entry applies only when the message has none of these keys (Browan's `temperatureBoard` is the
    # air's only where the device has no `temperature` of its own).
    unless: tuple[str, ...] = ()
    # The value is a reading only when these top-level members have these values (Teneo `valid: true`).
    only_if: tuple[tuple[str, object], ...] = ()
    # The key says what, not in which unit (`water_level` in m or cm): a value without a unit of its
    # own is refused with that reason, never read in a guessed unit.
    needs_unit: bool = False

    @property
    def ignored(self) -> bool:
        return self.quantity is None


@dataclass(frozen=True, slots=True)
class AliasTable:
    """One layer's entries: by key form, by ``*`` pattern (profiles), by CayenneLPP channel name."""

    keys: Mapping[str, Resolution] = field(default_factory=dict)
    channels: Mapping[str, Resolution] = field(default_factory=dict)
    patterns: tuple[tuple[re.Pattern[str], Resolution], ...] = ()
    # Whether any key selects list elements by a member (`data[label=Temperature].value`).
    selectors: bool = False

    @classmethod
    def of(cls, entries: Mapping[str, Resolution], channels: Mapping[str, Resolution] | None = None) -> AliasTable:
        keys = {key: found for key, found in entries.items() if not is_pattern(key)}
        patterns = tuple((pattern(key), found) for key, found in entries.items() if is_pattern(key))
        return cls(keys, channels or {}, patterns, any(has_selector(key) for key in keys))


EMPTY_TABLE = AliasTable()


@dataclass(frozen=True, slots=True)
class FormatAliases:
    """Layer 3 for one format."""

    table: AliasTable = EMPTY_TABLE
    # Guesses for devices without a profile, asked after the format's and the global aliases.
    fallback: AliasTable = EMPTY_TABLE
    # Context (an NGSI-LD entity type) -> aliases tried before the format's other aliases.
    contexts: Mapping[str, AliasTable] = field(default_factory=dict)
    # Definition URI (a SensorThings ObservedProperty's) -> meaning, tried before the key.
    definitions: Mapping[str, Resolution] = field(default_factory=dict)
    # Free-text names, matched without case, spaces and punctuation ("Relative humidity").
    loose_names: Mapping[str, Resolution] = field(default_factory=dict)
    # Quantity -> the unit the format implies when neither the payload nor a mapping gives one.
    default_units: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Profile:
    """Layer 2: what one device model's keys mean."""

    model: str  # "vendor/model": the first model id the file answers to
    name: str
    table: AliasTable
    origin: str  # "profiles/elsys/ers.yaml"
    models: tuple[str, ...] = ()  # every "vendor/model" it answers to (TTN version_ids)
    names: tuple[str, ...] = ()  # device profile names it answers to (ChirpStack), as written
    source: str = ""


@dataclass(frozen=True, slots=True)
class AliasData:
    global_table: AliasTable
    formats: Mapping[str, FormatAliases]
    global_fallback: AliasTable = EMPTY_TABLE
    # Path parts after which the dotted-suffix rule stops (`soil.temperature` is not `temperature`).
    suffix_stops: frozenset[str] = frozenset()

    def for_format(self, format_name: str) -> FormatAliases:
        return self.formats.get(format_name, _NO_FORMAT_ALIASES)


_NO_FORMAT_ALIASES = FormatAliases()


@dataclass(frozen=True, slots=True)
class ProfileRegistry:
    """Profiles by "vendor/model" (TTN's version_ids) and by loose name (ChirpStack device profile names)."""

    profiles: Mapping[str, Profile] = field(default_factory=dict)
    by_name: Mapping[str, Profile] = field(default_factory=dict)

    def get(self, device_model: str | None) -> Profile | None:
        """The profile a network's model name selects: "vendor/model" exactly, else by loose name."""
        if not device_model:
            return None
        found = self.profiles.get(device_model)
        if found is None:
            found = self.by_name.get(loose(device_model))
        return found

    def files(self) -> list[Profile]:
        """Each profile once (a file answering to several models appears once), by origin."""
        unique = {profile.origin: profile for profile in self.profiles.values()}
        return [unique[origin] for origin in sorted(unique)]


# --- file schemas ----------------------------------------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


Scalar = str | int | float | bool


class _Entry(_Strict):
    quantity: str | None = None
    ignore: str | None = None  # the reason
    time: Literal[True] | None = None
    unit: str | None = None
    scale: float | None = None
    unless: list[str] = []
    only_if: dict[str, Scalar] = {}
    doubt: str | None = None
    needs_unit: bool = False
    note: str | None = None  # for the people who read the file; the hub does nothing with it
    # What a lab mapping could choose for an ignored key (a probe's medium is the lab's to say).
    candidates: list[str] = []

    @model_validator(mode="after")
    def _one_kind(self) -> _Entry:
        kinds = [self.quantity is not None, self.ignore is not None, self.time is not None]
        if sum(kinds) != 1:
            raise ValueError("an entry needs exactly one of quantity, ignore (with its reason) or time")
        if self.quantity is None and (
            self.unit or self.scale or self.unless or self.only_if or self.doubt or self.needs_unit
        ):
            raise ValueError("unit, scale, unless, only_if, doubt and needs_unit belong to entries with a quantity")
        if self.needs_unit and self.unit:
            raise ValueError("needs_unit: the entry pins a unit, so the value never needs its own")
        return self


Entry = str | _Entry
_ModelT = TypeVar("_ModelT", bound=BaseModel)


class _SharedFile(_Strict):
    aliases: dict[str, Entry] = {}
    fallback: dict[str, Entry] = {}


class _OwnNames(_Strict):
    # Quantities whose own name is no key in this table (as a device key its meaning or unit is not fixed; a
    # name that is a good guess goes in `fallback` as an entry of its own).
    exclude: list[str] = []


class _GlobalFile(_SharedFile):
    own_names: _OwnNames = _OwnNames()
    channel_aliases: dict[str, Entry] = {}
    fallback_channel_aliases: dict[str, Entry] = {}
    suffix_stops: list[str] = []


class _FormatFile(_SharedFile):
    include: list[str] = []
    # "all": every quantity's own name is a key of this format (Smart Data Models formats).
    own_names: Literal["all"] | None = None
    channel_aliases: dict[str, Entry] = {}
    contexts: dict[str, dict[str, Entry]] = {}
    definitions: dict[str, Entry] = {}
    loose_names: dict[str, Entry] = {}
    default_units: dict[str, str] = {}


class _ProfileFile(_Strict):
    name: str = ""
    # The TTN model ids (version_ids.model_id) under the vendor folder; default: the file's name.
    models: list[str] = []
    # Device profile names the file answers to (ChirpStack's deviceProfileName), matched loosely.
    names: list[str] = []
    source: str = ""
    description: str = Field(default="", description="free text for the people who read the file")
    keys: dict[str, Entry]


# libyaml's parser when PyYAML has it: a hundred profile files load in a tenth of the time.
_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _read(file: Traversable, label: str) -> Any:
    try:
        data = yaml.load(file.read_text(encoding="utf-8"), Loader=_LOADER)  # noqa: S506 - a safe loader
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
        problems = []
        for error in exc.errors():
            if error["type"] in ("string_type", "literal_error") and len(exc.errors()) > 1:
                continue  # the other member of `key: quantity | {…}` says what is wrong
            where = ".".join(str(part) for part in error["loc"] if not _internal(part)) or "(top level)"
            problems.append(f"{label}: {where}: {error['msg'].removeprefix('Value error, ')}")
        raise ResolverDataError("\n".join(problems)) from None


def _internal(part: object) -> bool:
    """A location part pydantic adds for a union member or a validator, not a key of the file."""
    text = str(part)
    return text in ("str", "_Entry", "_OwnNames") or text.startswith(("function-", "literal["))


def _resolution(
    entry: Entry,
    *,
    key: str,
    where: str,
    label: str,
    layer: Layer,
    vocabulary: Vocabulary,
    fallback: bool = False,
) -> Resolution:
    if isinstance(entry, str):
        if entry == IGNORE:
            return Resolution(None, None, None, layer, key, label, reason="")
        if entry == TIME:
            return Resolution(None, None, None, layer, key, label, time=True)
        entry = _Entry(quantity=entry)
    if entry.ignore is not None:
        for index, candidate in enumerate(entry.candidates):
            if candidate not in vocabulary.quantities:
                raise ResolverDataError(f"{label}: {where}.{key}.candidates.{index}: unknown quantity {candidate!r}")
        return Resolution(None, None, None, layer, key, label, reason=entry.ignore)
    if entry.time:
        return Resolution(None, None, None, layer, key, label, time=True)
    assert entry.quantity is not None  # _Entry._one_kind
    meaning = KeyMeaning(entry.quantity, entry.unit, entry.scale)
    problem = vocabulary.check_meaning(meaning)
    if problem is not None:
        raise ResolverDataError(f"{label}: {where}.{key}.{problem[0]}: {problem[1]}")
    return Resolution(
        meaning.quantity,
        meaning.unit,
        meaning.scale,
        layer,
        key,
        label,
        fallback=fallback,
        doubt=entry.doubt,
        unless=tuple(entry.unless),
        only_if=tuple(entry.only_if.items()),
        needs_unit=entry.needs_unit,
    )


def _table_entries(
    entries: Mapping[str, Entry],
    *,
    where: str,
    label: str,
    layer: Layer,
    vocabulary: Vocabulary,
    fallback: bool = False,
) -> dict[str, Resolution]:
    return {
        key: _resolution(
            entry, key=key, where=where, label=label, layer=layer, vocabulary=vocabulary, fallback=fallback
        )
        for key, entry in entries.items()
    }


def _merge(into: dict[str, Resolution], more: Mapping[str, Resolution], label: str, where: str) -> None:
    for key, resolution in more.items():
        earlier = into.get(key)
        if earlier is not None:
            raise ResolverDataError(f"{label}: {where}.{key}: already declared in {earlier.origin}")
        into[key] = resolution


def _own_name(name: str, layer: Layer, origin: str) -> Resolution:
    """A quantity's own name as a key."""
    return Resolution(name, None, None, layer, name, origin)


# --- loading ---------------------------------------------------------------------------------------------


def load_aliases(root: Traversable | None = None, vocabulary: Vocabulary | None = None) -> AliasData:
    """The global and per-format alias layers from ``root`` (default: ``hub/data/aliases``)."""
    root = root or resources.files("hub.data").joinpath("aliases")
    vocabulary = vocabulary or load_vocabulary()

    label = "aliases/global.yaml"
    raw = _validate(_GlobalFile, _read(root.joinpath("global.yaml"), label), label)
    for index, name in enumerate(raw.own_names.exclude):
        if name not in vocabulary.quantities:
            raise ResolverDataError(f"{label}: own_names.exclude.{index}: unknown quantity {name!r}")
    left_out = set(raw.own_names.exclude)
    keys = {
        name: _own_name(name, Layer.GLOBAL, "quantities.yaml") for name in vocabulary.quantities if name not in left_out
    }
    _merge(
        keys,
        _table_entries(raw.aliases, where="aliases", label=label, layer=Layer.GLOBAL, vocabulary=vocabulary),
        label,
        "aliases",
    )
    fallback: dict[str, Resolution] = {}
    _merge(
        fallback,
        _table_entries(
            raw.fallback, where="fallback", label=label, layer=Layer.GLOBAL, vocabulary=vocabulary, fallback=True
        ),
        label,
        "fallback",
    )
    _no_overlap(keys, fallback, label)
    channels = _table_entries(
        raw.channel_aliases, where="channel_aliases", label=label, layer=Layer.GLOBAL, vocabulary=vocabulary
    )
    global_table = AliasTable.of(keys, channels)

    formats: dict[str, FormatAliases] = {}
    for file in _yaml_files(root.joinpath("formats")):
        format_name = file.name.rsplit(".", 1)[0]
        formats[format_name] = _load_format(root, file, f"aliases/formats/{file.name}", vocabulary)
    fallback_channels = _table_entries(
        raw.fallback_channel_aliases,
        where="fallback_channel_aliases",
        label=label,
        layer=Layer.GLOBAL,
        vocabulary=vocabulary,
        fallback=True,
    )
    stops = frozenset(stop.lower() for stop in raw.suffix_stops)
    return AliasData(global_table, formats, AliasTable.of(fallback, fallback_channels), stops)


def _no_overlap(keys: Mapping[str, Resolution], fallback: Mapping[str, Resolution], label: str) -> None:
    for key in fallback:
        if key in keys:
            raise ResolverDataError(f"{label}: fallback.{key}: also an alias in {keys[key].origin}: one or the other")


def _load_format(root: Traversable, file: Traversable, label: str, vocabulary: Vocabulary) -> FormatAliases:
    raw = _validate(_FormatFile, _read(file, label), label)
    keys: dict[str, Resolution] = {}
    fallback: dict[str, Resolution] = {}
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
        guesses = _table_entries(
            shared.fallback,
            where="fallback",
            label=shared_label,
            layer=Layer.FORMAT,
            vocabulary=vocabulary,
            fallback=True,
        )
        _merge(fallback, guesses, label, f"include.{index}")
    own = _table_entries(raw.aliases, where="aliases", label=label, layer=Layer.FORMAT, vocabulary=vocabulary)
    _merge(keys, own, label, "aliases")
    if raw.own_names == "all":
        for name in vocabulary.quantities:
            keys.setdefault(name, _own_name(name, Layer.FORMAT, "quantities.yaml"))
    guesses = _table_entries(
        raw.fallback, where="fallback", label=label, layer=Layer.FORMAT, vocabulary=vocabulary, fallback=True
    )
    _merge(fallback, guesses, label, "fallback")
    _no_overlap(keys, fallback, label)
    channels = _table_entries(
        raw.channel_aliases, where="channel_aliases", label=label, layer=Layer.FORMAT, vocabulary=vocabulary
    )
    contexts = {
        context: AliasTable.of(
            _table_entries(entries, where=f"contexts.{context}", label=label, layer=Layer.FORMAT, vocabulary=vocabulary)
        )
        for context, entries in raw.contexts.items()
    }
    definitions = _table_entries(
        raw.definitions, where="definitions", label=label, layer=Layer.FORMAT, vocabulary=vocabulary
    )
    loose_names: dict[str, Resolution] = {}
    for name, found in _table_entries(
        raw.loose_names, where="loose_names", label=label, layer=Layer.FORMAT, vocabulary=vocabulary
    ).items():
        earlier = loose_names.setdefault(loose(name), found)
        if earlier is not found:
            raise ResolverDataError(f"{label}: loose_names.{name}: reads the same as {earlier.entry!r}")
    for quantity, unit in raw.default_units.items():
        problem = vocabulary.check_meaning(KeyMeaning(quantity, unit))
        if problem is not None:
            raise ResolverDataError(f"{label}: default_units.{quantity}: {problem[1]}")
    return FormatAliases(
        AliasTable.of(keys, channels),
        AliasTable.of(fallback),
        contexts,
        definitions,
        loose_names,
        dict(raw.default_units),
    )


def load_profiles(root: Traversable | None = None, vocabulary: Vocabulary | None = None) -> ProfileRegistry:
    """Every ``<vendor>/<model>.yaml`` under ``root`` (default: ``hub/data/profiles``), by "vendor/model"."""
    root = root or resources.files("hub.data").joinpath("profiles")
    vocabulary = vocabulary or load_vocabulary()
    profiles: dict[str, Profile] = {}
    by_name: dict[str, Profile] = {}
    for vendor in sorted(root.iterdir(), key=lambda item: item.name) if root.is_dir() else []:
        if not vendor.is_dir() or vendor.name.startswith((".", "_")):
            continue
        for file in _yaml_files(vendor):
            stem = file.name.rsplit(".", 1)[0]
            label = f"profiles/{vendor.name}/{file.name}"
            raw = _validate(_ProfileFile, _read(file, label), label)
            keys = _table_entries(raw.keys, where="keys", label=label, layer=Layer.PROFILE, vocabulary=vocabulary)
            models = tuple(f"{vendor.name}/{model}" for model in (raw.models or [stem]))
            profile = Profile(
                models[0], raw.name or models[0], AliasTable.of(keys), label, models, tuple(raw.names), raw.source
            )
            for index, model in enumerate(models):
                earlier = profiles.setdefault(model, profile)
                if earlier is not profile:
                    raise ResolverDataError(f"{label}: models.{index}: {model} is already {earlier.origin}'s")
            # A device profile name may be "Elsys ERS CO2" or "elsys/ers-co2": both read as the model.
            names = [*raw.names, *(model.replace("/", " ") for model in models)]
            for name in names:
                earlier = by_name.setdefault(loose(name), profile)
                if earlier is not profile:
                    raise ResolverDataError(f"{label}: names: {name!r} also names {earlier.origin}")
    return ProfileRegistry(profiles, by_name)


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
