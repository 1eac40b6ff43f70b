"""Unmapped and guessed keys, as an operator needs them: merged over every store, checked against today's
lab configs and profiles, with the profile that would know them and a snippet to paste into the lab YAML.

The ingest writer records, per (lab, device model, key), what no layer of the key resolver knows
(``unmapped``) and what only a fallback guess read (``guessed``: a device without a profile), in
``<data dir>/unmapped.sqlite3`` (hub/unmapped). Several ingest processes each keep their own file;
``find_stores`` finds them in the given data directories and their subdirectories, and the listing
merges them. A key the lab config or a profile now maps is left out: fixing it makes it disappear.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from hub.labs import LabConfig, Source
from hub.resolver import Profile, ProfileRegistry, shipped_profiles
from hub.topics import matches
from hub.unmapped import FILE_NAME, DroppedRow, UnmappedRow, UnmappedStore
from hub.vocabulary import load_vocabulary

# Values that could be readings; text, booleans and nulls are listed with `include_text` only.
READING_KINDS = frozenset({"number", "numeric text"})
MAX_SUGGESTIONS = 3
# A key that at most this many profiles know says which model a device is.
DISTINCTIVE = 12


@dataclass(frozen=True, slots=True)
class UnmappedEntry:
    lab: str
    device_model: str | None  # as the network (or the lab config) named it; None: unnamed
    key: str
    guess: str | None  # the quantity a fallback guess read it as; None: unmapped
    count: int
    sample: str  # the latest value, JSON
    sample_kind: str
    first_ns: int
    last_ns: int
    device: str  # the device that sent it last
    source: int | None  # index of the lab's source whose topic filter the message matched
    topic_filter: str | None
    profile: str | None  # the profile that applied to the device, if any
    suggestions: tuple[str, ...]  # profiles that know the key (for a device without one)
    snippet: str  # YAML for labs/<lab>.yaml


@dataclass(frozen=True, slots=True)
class UnmappedReport:
    entries: list[UnmappedEntry]
    dropped: list[DroppedRow]  # keys seen but not stored (the store was full), per lab and model
    stores: list[Path]
    # Entries left out because today's config maps them (or, for text and booleans, unless asked).
    hidden: int = 0
    labs: list[str] = field(default_factory=list)


def find_stores(data_dirs: Iterable[Path]) -> list[Path]:
    """Every unmapped-key store in the directories and their immediate subdirectories (one per process)."""
    found: list[Path] = []
    for directory in data_dirs:
        candidates = [directory / FILE_NAME, *sorted(directory.glob(f"*/{FILE_NAME}"))]
        found.extend(path for path in candidates if path.is_file() and path not in found)
    return found


def merge_rows(stores: Sequence[Path], lab: str | None = None) -> tuple[list[UnmappedRow], list[DroppedRow]]:
    """The rows of several stores as one: counts added, the first and last sightings kept, the latest sample."""
    rows: dict[tuple[str, str, str, str], UnmappedRow] = {}
    dropped: dict[tuple[str, str], DroppedRow] = {}
    for path in stores:
        store = UnmappedStore(path, readonly=True)
        try:
            for row in store.rows(lab):
                row_key = (row.lab, row.device_model, row.key, row.guess)
                earlier = rows.get(row_key)
                rows[row_key] = row if earlier is None else _merge(earlier, row)
            for gone in store.dropped(lab):
                earlier_gone = dropped.get((gone.lab, gone.device_model))
                if earlier_gone is not None:
                    gone = DroppedRow(
                        gone.lab,
                        gone.device_model,
                        gone.count + earlier_gone.count,
                        max(gone.last_ns, earlier_gone.last_ns),
                    )
                dropped[(gone.lab, gone.device_model)] = gone
        finally:
            store.close()
    return list(rows.values()), list(dropped.values())


def _merge(one: UnmappedRow, other: UnmappedRow) -> UnmappedRow:
    latest = other if other.last_ns >= one.last_ns else one
    return UnmappedRow(
        lab=one.lab,
        device_model=one.device_model,
        key=one.key,
        guess=one.guess,
        count=one.count + other.count,
        sample=latest.sample,
        sample_kind=latest.sample_kind,
        first_ns=min(one.first_ns, other.first_ns),
        last_ns=max(one.last_ns, other.last_ns),
        device=latest.device,
        topic=latest.topic,
    )


def unmapped_report(
    data_dirs: Iterable[Path],
    labs: Mapping[str, LabConfig],
    *,
    lab: str | None = None,
    include_text: bool = False,
    profiles: ProfileRegistry | None = None,
) -> UnmappedReport:
    """What the stores under ``data_dirs`` hold for ``lab`` (all labs: None), explained against ``labs``."""
    stores = find_stores(data_dirs)
    rows, dropped = merge_rows(stores, lab)
    profiles = profiles or shipped_profiles()
    knowers = _profiles_by_key(profiles)
    open_rows: list[tuple[UnmappedRow, int | None, Source | None, Profile | None]] = []
    hidden = 0
    for row in rows:
        config = labs.get(row.lab)
        index, source = _source_of(config, row.topic)
        profile = source.resolver.profile(row.device_model or None, row.device or None) if source else None
        if profile is None:
            profile = profiles.get(row.device_model or None)
        if (not include_text and row.sample_kind not in READING_KINDS and not row.guess) or _now_mapped(
            source, profile, row
        ):
            hidden += 1
            continue
        open_rows.append((row, index, source, profile))
    # Which profiles know the open keys a device sent: the better a profile covers them, the likelier the
    # device is that model. (A device is known per key by the last one that sent it.)
    groups: dict[tuple[str, str, str], set[str]] = defaultdict(set)
    for row, _, _, profile in open_rows:
        if profile is None:
            groups[(row.lab, row.device_model, row.device)].add(row.key)
    ranked = {group: _rank(keys, knowers) for group, keys in groups.items()}
    entries = []
    ordered = sorted(open_rows, key=lambda item: (item[0].lab, item[0].device_model, -item[0].count, item[0].key))
    for row, index, source, profile in ordered:
        suggestions: tuple[str, ...] = ()
        if profile is None:
            candidates = ranked.get((row.lab, row.device_model, row.device), [])
            suggestions = tuple(name for name in candidates if name in knowers.get(row.key, ()))[:MAX_SUGGESTIONS]
        entries.append(
            UnmappedEntry(
                lab=row.lab,
                device_model=row.device_model or None,
                key=row.key,
                guess=row.guess or None,
                count=row.count,
                sample=row.sample,
                sample_kind=row.sample_kind,
                first_ns=row.first_ns,
                last_ns=row.last_ns,
                device=row.device,
                source=index,
                topic_filter=source.topic if source is not None else None,
                profile=profile.model if profile is not None else None,
                suggestions=suggestions,
                snippet=snippet(row, index, source, profile, suggestions),
            )
        )
    return UnmappedReport(
        entries=entries,
        dropped=sorted(dropped, key=lambda gone: (gone.lab, gone.device_model)),
        stores=stores,
        hidden=hidden,
        labs=sorted({row.lab for row in rows}),
    )


def _source_of(config: LabConfig | None, topic: str) -> tuple[int | None, Source | None]:
    if config is None:
        return None, None
    for index, source in enumerate(config.sources):
        if matches(source.topic, topic):
            return index, source
    return None, None


def _now_mapped(source: Source | None, profile: Profile | None, row: UnmappedRow) -> bool:
    """Whether today's config reads the key without a guess (the operator has fixed it)."""
    if source is None:
        return False
    found = source.resolver.resolve(row.key, profile)
    return found is not None and not found.fallback


def _profiles_by_key(profiles: ProfileRegistry) -> dict[str, set[str]]:
    """Key -> the profiles that map or ignore it exactly (patterns and list selectors left out)."""
    knowers: dict[str, set[str]] = defaultdict(set)
    for profile in profiles.files():
        for key in profile.table.keys:
            knowers[key].add(profile.model)
    return knowers


def _rank(keys: set[str], knowers: Mapping[str, set[str]]) -> list[str]:
    """Profiles that know the keys, the likeliest first; none when only common keys are known.

    A key counts for a profile in inverse proportion to how many profiles know it: ``temperature`` says
    little, ``sensorTemperature`` much. A profile is suggested only when the keys it knows include one that
    at most ``DISTINCTIVE`` profiles know.
    """
    scores: dict[str, float] = defaultdict(float)
    distinctive: set[str] = set()
    for key in keys:
        names = knowers.get(key, set())
        for name in names:
            scores[name] += 1 / len(names)
            if len(names) <= DISTINCTIVE:
                distinctive.add(name)
    return [name for name, _ in sorted(scores.items(), key=lambda item: (-item[1], item[0])) if name in distinctive]


def snippet(
    row: UnmappedRow, index: int | None, source: Source | None, profile: Profile | None, suggestions: Sequence[str]
) -> str:
    """YAML to paste under the lab's source in labs/<lab>.yaml, with what to decide in comments."""
    where = f"sources.{index} ({source.topic})" if index is not None and source is not None else "the source"
    lines = [f"# labs/{row.lab}.yaml, under {where}:"]
    if row.guess:
        unit = load_vocabulary().quantities[row.guess].unit
        lines.append(
            f"# {row.key!r} was read as {row.guess} only by a guess (no profile for this device); "
            "confirm it, or name the device's profile"
        )
        lines.append(_yaml({"mappings": {row.key: {"quantity": row.guess, "unit": unit}}}))
    else:
        lines.append(
            f"# {row.key!r} (last value {row.sample}) is no reading yet: say what it is, "
            "or mark it `ignore` if it is none"
        )
        lines.append(_yaml({"mappings": {row.key: {"quantity": "QUANTITY", "unit": "UNIT"}}}).rstrip())
        lines[-1] += "  # QUANTITY: hub/data/quantities.yaml; UNIT: hub/data/units.yaml"
    if suggestions:
        # Alternatives stay comments, so the snippet pasted whole does one thing.
        others = f" (or {', '.join(suggestions[1:])})" if len(suggestions) > 1 else ""
        lines.append(f"# or name the model, if the devices are {suggestions[0]}{others} (its profile knows this key):")
        lines.append(f"# profile: {suggestions[0]}")
        if row.device:
            lines.append("# or for this device only:")
            lines += [
                f"# {line}" for line in _yaml({"devices": {row.device: {"profile": suggestions[0]}}}).splitlines()
            ]
    elif profile is not None:
        lines.append(
            f"# the device's profile {profile.model} does not know this key: "
            f"add it there (hub/data/{profile.origin}) so every lab with the model benefits"
        )
    return "\n".join(line.rstrip("\n") for line in lines) + "\n"


def _yaml(data: object) -> str:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, default_flow_style=None, width=1000)
