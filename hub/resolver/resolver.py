"""The one place that says what a payload key means: quantity, unit and the layer that decided.

Four layers, asked in this order:

1. **source**: the lab's ``mappings`` and the mappings its codec options declare (the ``json``
   codec's ``values``, SensorThings ``datastreams``). Exact keys only: a lab names its own keys.
2. **profile**: the device model's profile (``hub/data/profiles/<vendor>/<model>.yaml``), chosen by
   the lab config's ``devices`` patterns, else by ``DecodedMessage.device_model`` (TTN version_ids,
   ChirpStack's device profile name), else by the source's ``profile``.
3. **format**: the format's aliases (``hub/data/aliases/formats/<format>.yaml``); for an observation
   with a context (the NGSI-LD entity type), that context's aliases first; for one with a definition
   URI (SensorThings), the format's definitions before anything but the source's mappings.
4. **global**: the vocabulary's own names and ``hub/data/aliases/global.yaml``.

Layers 2-4 match a key whole, then by its dotted suffixes, longest first (``BME280.Temperature``
finds ``Temperature``); for each form the more specific layer wins, and a longer form beats a
shorter one, so TTN's ``water.temperature`` never becomes ``temperature``. List elements match by
index, ``[*]`` or a selector (``hub/resolver/keys.py``). Then a format's loose names (free text,
without case and punctuation); then the **fallback** guesses of layers 3 and 4, for a device
without a profile only (a profiled device's key the profile doesn't list is shown as unmapped,
never guessed); last, a CayenneLPP name with a channel (``temperature_1``). Never by substring.

A resolver is built once per source (``hub.labs.Source.resolver``, or ``resolver_for``); the hot
path is dictionary lookups, memoised per key.
"""

from __future__ import annotations

import fnmatch
import threading
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Protocol

from core.model import KeyMapping, RawObservation
from hub.resolver.keys import element_forms, loose, suffixes
from hub.resolver.tables import (
    CHANNEL_SUFFIX,
    EMPTY_TABLE,
    AliasData,
    AliasTable,
    FormatAliases,
    Layer,
    Profile,
    ProfileRegistry,
    Resolution,
    shipped_aliases,
    shipped_profiles,
)
from hub.vocabulary import Vocabulary, load_vocabulary

# Payload keys are free text from devices: the memo is bounded, and starts over when full.
_MEMO_LIMIT = 4096
_NO_KEYS: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class ProfileRules:
    """Which profile a source's devices use, from the lab config: ``devices`` patterns, then the network's
    model name, then the source's ``profile``."""

    default: str | None = None
    # (fnmatch pattern of the device id, profile), first match wins.
    devices: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class KeyRoute:
    """How a quantity travels for a source: under ``key``, in ``unit`` when unlabelled (``reverse``)."""

    key: str
    unit: str
    # A profile's factor: the device sends canonical_value_in_unit / scale.
    scale: float | None
    layer: Layer


class SourceLike(Protocol):
    """What the resolver needs of a lab's source (``hub.labs.Source``, which keeps its own resolver)."""

    @property
    def format(self) -> str: ...

    @property
    def resolver(self) -> KeyResolver: ...

    @property
    def key_mappings(self) -> Sequence[KeyMapping]: ...

    @property
    def default_units(self) -> Mapping[str, str]: ...


class KeyResolver:
    """Key -> meaning for one format and (optionally) one source's mappings and default units."""

    def __init__(
        self,
        format_name: str,
        mappings: Sequence[KeyMapping] = (),
        default_units: Mapping[str, str] | None = None,
        *,
        aliases: AliasData | None = None,
        profiles: ProfileRegistry | None = None,
        vocabulary: Vocabulary | None = None,
        ignored: Sequence[str] = (),
        profile_rules: ProfileRules | None = None,
    ) -> None:
        self.format_name = format_name
        self.vocabulary = vocabulary or load_vocabulary()
        aliases = aliases or shipped_aliases()
        self.profiles = profiles or shipped_profiles()
        self.profile_rules = profile_rules or ProfileRules()
        self._source: dict[str, Resolution] = {}
        for mapping in mappings:
            meaning = mapping.meaning
            self._source.setdefault(
                mapping.key,
                Resolution(meaning.quantity, meaning.unit, meaning.scale, Layer.SOURCE, mapping.key, mapping.where),
            )
        for key in ignored:  # a lab's `mappings: {key: ignore}`
            self._source.setdefault(
                key, Resolution(None, None, None, Layer.SOURCE, key, f"mappings.{key}", reason="the lab ignores it")
            )
        format_aliases = aliases.for_format(format_name)
        self._format: FormatAliases = format_aliases
        self._stops = aliases.suffix_stops
        self._contexts: Mapping[str, AliasTable] = format_aliases.contexts
        self._aliases: tuple[AliasTable, ...] = (format_aliases.table, aliases.global_table)
        self._fallback: tuple[AliasTable, ...] = (format_aliases.fallback, aliases.global_fallback)
        # The unit of an unlabelled value whose entry pins none: the source's default, the format's, canonical.
        source_units = default_units or {}
        self._default_unit = {
            name: source_units.get(name) or format_aliases.default_units.get(name) or quantity.unit
            for name, quantity in self.vocabulary.quantities.items()
        }
        # (profile file, context, key) -> the entries the key matches (a chain: see _chain).
        self._memo: dict[tuple[str, str | None, str], tuple[Resolution, ...]] = {}
        self._memo_lock = threading.Lock()

    # --- forward: key -> meaning ------------------------------------------------------------------------

    def profile(self, device_model: str | None, device: str | None = None) -> Profile | None:
        """The profile for a message (look it up once per message): the lab's pattern for the device,
        else the network's model name, else the source's default."""
        rules = self.profile_rules
        if device is not None:
            for device_pattern, name in rules.devices:
                if fnmatch.fnmatchcase(device, device_pattern):
                    return self.profiles.get(name)
        found = self.profiles.get(device_model)
        if found is None and rules.default is not None:
            found = self.profiles.get(rules.default)
        return found

    def resolve(
        self,
        key: str,
        profile: Profile | None = None,
        context: str | None = None,
        *,
        element: tuple[tuple[str, str], ...] = (),
        definition: str | None = None,
        present: Collection[str] = _NO_KEYS,
    ) -> Resolution | None:
        """What ``key`` means, or None when no layer knows it (an unmapped key, shown to the operator).

        ``element``: the scalar members of the list element the value sits in (for selector keys);
        ``definition``: a URI defining the value (SensorThings); ``present``: the message's other keys
        (an entry with ``unless`` applies only when none of those is present).
        """
        found = self._source.get(key)
        if found is not None:
            return found
        if definition is not None:
            found = self._format.definitions.get(definition)
            if found is not None:
                return found
        for found in self._chain_of(key, profile, context, element):
            if not found.unless or not any(other in present for other in found.unless):
                return found
        return None

    def resolve_all(
        self, observations: Sequence[RawObservation], profile: Profile | None = None
    ) -> list[Resolution | None]:
        """``resolve`` for every observation of one message (what the normaliser asks): the same answers,
        with the message's keys as ``present``, built only when an entry with an ``unless`` needs them."""
        source, definitions, memo = self._source, self._format.definitions, self._memo
        origin = profile.origin if profile is not None else ""
        present: frozenset[str] | None = None
        meanings: list[Resolution | None] = []
        for observation in observations:
            key = observation.key
            found = source.get(key)
            if found is None and observation.definition is not None:
                found = definitions.get(observation.definition)
            if found is None:
                # _chain_of's memo, asked here first: a call less for most keys.
                chain = None if observation.element else memo.get((origin, observation.context, key))
                if chain is None:
                    chain = self._chain_of(key, profile, observation.context, observation.element)
                for entry in chain:
                    if entry.unless:
                        if present is None:
                            present = frozenset(other.key for other in observations)
                        if not present.isdisjoint(entry.unless):
                            continue
                    found = entry
                    break
            meanings.append(found)
        return meanings

    def _chain_of(
        self, key: str, profile: Profile | None, context: str | None, element: tuple[tuple[str, str], ...]
    ) -> tuple[Resolution, ...]:
        """The entries ``key`` matches (``_chain``), memoised unless the key is a list element's (whose
        element members make it one of a kind)."""
        if element:
            return self._chain(key, profile, self._contexts.get(context) if context is not None else None, element)
        memo_key = (profile.origin if profile is not None else "", context, key)
        chain = self._memo.get(memo_key)
        if chain is None:
            chain = self._chain(key, profile, self._contexts.get(context) if context is not None else None, element)
            with self._memo_lock:
                if len(self._memo) >= _MEMO_LIMIT:
                    self._memo.clear()
                self._memo[memo_key] = chain
        return chain

    def _chain(
        self, key: str, profile: Profile | None, context_table: AliasTable | None, element: tuple[tuple[str, str], ...]
    ) -> tuple[Resolution, ...]:
        """The entries ``key`` matches, in the order they are asked, up to the first that applies whatever the
        message's other keys are: the ones before it have an ``unless``."""
        tables = (
            (profile.table if profile is not None else EMPTY_TABLE),
            (context_table if context_table is not None else EMPTY_TABLE),
            *self._aliases,
        )
        chain = _candidates(key, element, tables, self._stops)
        if chain and not chain[-1].unless:
            return chain
        loose_name = self._format.loose_names.get(loose(key)) if self._format.loose_names else None
        if loose_name is not None:
            return (*chain, loose_name)
        if profile is None:
            chain += _candidates(key, element, self._fallback, self._stops)
            if chain and not chain[-1].unless:
                return chain
        channel = _channel(key, (*tables, *(self._fallback if profile is None else ())))
        return (*chain, channel) if channel is not None else chain

    def default_unit(self, resolution: Resolution) -> str:
        """The unit an unlabelled value of this key is in: the entry's, else the source's, the format's,
        the quantity's canonical unit."""
        if resolution.unit is not None:
            return resolution.unit
        if resolution.quantity is None:
            raise ValueError(f"{resolution.entry}: an ignored key has no unit")
        return self._default_unit[resolution.quantity]

    # --- reverse: quantity -> key -----------------------------------------------------------------------

    def reverse(
        self,
        quantity: str,
        *,
        device_model: str | None = None,
        context: str | None = None,
        spelling: str | None = None,
    ) -> KeyRoute | None:
        """Which key and unit a value of ``quantity`` travels under for this source.

        Candidates in the resolver's own order: the source's keys for the quantity, the profile's,
        then ``spelling`` (the key the caller's device would naturally write, such as a vendor
        decoder's ``pm2_5``), the quantity's own name, the format's and the global aliases, then their
        fallback guesses. The first one that resolves back to ``quantity`` wins, so a route always
        round-trips; None when none does. Keys whose values must state their unit (``needs_unit``), keys
        with a list index or a pattern, and keys valid only beside a flag (``only_if``) carry no route: an
        encoder writes plain, unlabelled values (and no key an ``unless`` names).
        """
        profile = self.profile(device_model)
        candidates = [key for key, found in self._source.items() if found.quantity == quantity]
        if profile is not None:
            candidates += [key for key, found in profile.table.keys.items() if found.quantity == quantity]
        if spelling is not None:
            candidates.append(spelling)
        candidates.append(quantity)
        context_table = self._contexts.get(context) if context is not None else None
        for table in (context_table or EMPTY_TABLE, *self._aliases, *self._fallback):
            candidates += [key for key, found in table.keys.items() if found.quantity == quantity]
        for key in candidates:
            if key not in self._source and "[" in key:
                continue  # a list element or a selector: no key a flat payload can carry
            found = self.resolve(key, profile, context)
            if found is not None and found.quantity == quantity and not (found.needs_unit or found.only_if):
                return KeyRoute(key, self.default_unit(found), found.scale, found.layer)
        return None


def _candidates(
    key: str, element: tuple[tuple[str, str], ...], tables: Sequence[AliasTable], stops: Collection[str]
) -> tuple[Resolution, ...]:
    """The entries for the forms of ``key``, longest form first (for each form, the tables in layer order; a
    table's patterns after its keys, for the whole key), up to the first entry without an ``unless``."""
    found: list[Resolution] = []
    selectors = any(table.selectors for table in tables)
    for position, form in enumerate(suffixes(key, stops)):
        variants = (form, *element_forms(form, element, selectors))
        for table in tables:
            for variant in variants:
                entry = table.keys.get(variant)
                if entry is not None:
                    found.append(entry)
                    if not entry.unless:
                        return tuple(found)
            if position == 0:
                for regex, entry in table.patterns:
                    if regex.match(key) is not None:
                        found.append(entry)
                        if not entry.unless:
                            return tuple(found)
    return tuple(found)


def _channel(key: str, tables: Sequence[AliasTable]) -> Resolution | None:
    """A CayenneLPP name with a channel (``temperature_1``, ``temperatureSensor.1``)."""
    channel = CHANNEL_SUFFIX.match(key)
    if channel is not None:
        for table in tables:
            found = table.channels.get(channel["name"])
            if found is not None:
                return found
    return None


def resolver_for(format_name: str, source: SourceLike | None = None) -> KeyResolver:
    """The resolver for a source (built once per source object), or for a bare format (once per format)."""
    if source is None:
        return _format_resolver(format_name)
    if source.format == format_name:
        return source.resolver
    # A source read with another format than its own (tests do that): its mappings, that format's aliases.
    return KeyResolver(format_name, source.key_mappings, source.default_units)


@cache
def _format_resolver(format_name: str) -> KeyResolver:
    return KeyResolver(format_name)
