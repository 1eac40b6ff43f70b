"""Lab configuration: one YAML file per lab under ``labs/``, validated at load.

A new lab is configuration, not code. Errors name the file and the key.
"""

from __future__ import annotations

from functools import cached_property, lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from adapters import CodecNotFoundError, get_codec
from core.model import KeyMapping, KeyMeaning
from core.names import MAX_SLUG_LENGTH, SLUG_PATTERN
from hub.forward.config import NgsiLdForward
from hub.resolver import IGNORE, KeyResolver, ProfileRules, shipped_profiles
from hub.topics import TopicFilterError, overlap, validate_filter
from hub.vocabulary import load_vocabulary

Slug = Annotated[str, Field(pattern=SLUG_PATTERN, max_length=MAX_SLUG_LENGTH)]


class LabConfigError(ValueError):
    """A lab config that can't be used; the message names the file and the key."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Location(_Strict):
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)


class MappingConfig(_Strict):
    """How one payload key becomes a canonical quantity (a lab's ``mappings`` entry)."""

    quantity: str
    unit: str | None = None


class DeviceConfig(_Strict):
    """What the lab says about the devices whose id matches a pattern: their device profile."""

    profile: str


class Source(_Strict):
    """One stream of messages: a topic filter and the format its payloads use."""

    topic: str
    format: str
    # 0-based topic level holding the device id; unset means the payload names the device.
    device_topic_level: int | None = Field(default=None, ge=0)
    # Key -> meaning, or `ignore` for a key the lab knows is no reading (layer 1 of the key resolver).
    mappings: dict[str, MappingConfig | Literal["ignore"]] = Field(default_factory=dict)
    # The device profile (hub/data/profiles/<vendor>/<model>.yaml) of devices the network names no
    # known model for, and per device-id pattern (fnmatch, first match wins) whatever the network says.
    profile: str | None = None
    devices: dict[str, DeviceConfig] = Field(default_factory=dict)
    # Unit of a quantity when the payload gives none (e.g. a lab whose firmware sends °F).
    default_units: dict[str, str] = Field(default_factory=dict)
    # Codec-specific settings, validated by the codec's own options model.
    options: dict[str, Any] = Field(default_factory=dict)

    @field_validator("topic")
    @classmethod
    def _topic_is_valid(cls, value: str) -> str:
        try:
            validate_filter(value)
        except TopicFilterError as exc:
            raise ValueError(str(exc)) from exc
        return value

    @model_validator(mode="after")
    def _device_level_in_filter(self) -> Source:
        level = self.device_topic_level
        if level is not None:
            levels = self.topic.split("/")
            if level >= len(levels) or levels[level] == "#":
                raise ValueError(f"device_topic_level {level} is not a level of {self.topic!r}")
        return self

    @cached_property
    def codec_options(self) -> BaseModel:
        """The options parsed by the format's codec (raises ValueError when they don't fit it)."""
        return get_codec(self.format).parse_options(self.options)

    @cached_property
    def key_mappings(self) -> tuple[KeyMapping, ...]:
        """Layer 1 of the key resolver: the lab's ``mappings``, then those its codec options declare."""
        own = tuple(
            KeyMapping(key, KeyMeaning(mapping.quantity, mapping.unit), f"mappings.{key}")
            for key, mapping in self.mappings.items()
            if isinstance(mapping, MappingConfig)
        )
        declared = get_codec(self.format).option_mappings(self.codec_options)
        return own + tuple(KeyMapping(mapping.key, mapping.meaning, f"options.{mapping.where}") for mapping in declared)

    @property
    def ignored_keys(self) -> tuple[str, ...]:
        """The keys the lab's ``mappings`` mark ``ignore``."""
        return tuple(key for key, mapping in self.mappings.items() if mapping == IGNORE)

    @cached_property
    def profile_rules(self) -> ProfileRules:
        return ProfileRules(self.profile, tuple((pattern, device.profile) for pattern, device in self.devices.items()))

    @cached_property
    def resolver(self) -> KeyResolver:
        """This source's key resolver, built once: what its payloads' keys mean."""
        return KeyResolver(
            self.format,
            self.key_mappings,
            self.default_units,
            ignored=self.ignored_keys,
            profile_rules=self.profile_rules,
        )

    def device_from_topic(self, topic: str) -> str | None:
        if self.device_topic_level is None:
            return None
        return _topic_level(topic, self.device_topic_level)


@lru_cache(maxsize=16384)
def _topic_level(topic: str, level: int) -> str | None:
    """A topic's level (None past its end); cached, as a device publishes on the same topic again and again."""
    levels = topic.split("/")
    return levels[level] if level < len(levels) else None


class LabConfig(_Strict):
    lab: Slug
    city: Slug
    name: str = Field(min_length=1, max_length=200)
    city_name: str = Field(min_length=1, max_length=200)
    country: str = Field(pattern=r"^[A-Z]{2}$")
    timezone: str
    location: Location
    # The MQTT user this lab publishes as; the broker ACL limits it to its topic filters.
    mqtt_username: Slug | None = None
    description: str = ""
    sources: list[Source] = Field(min_length=1)
    # Optional: push the lab's latest entities to its city's NGSI-LD broker (hub/forward/config.py).
    forward: NgsiLdForward | None = None

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown IANA timezone {value!r}") from exc
        return value

    @cached_property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def username(self) -> str:
        return self.mqtt_username or self.lab


def _format_validation_error(path: Path, error: ValidationError) -> str:
    lines = []
    for item in error.errors():
        key = ".".join(str(part) for part in item["loc"]) or "(top level)"
        lines.append(f"{path}: {key}: {item['msg']}")
    return "\n".join(lines)


def load_lab(path: Path) -> LabConfig:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise LabConfigError(f"{path}: not valid YAML: {exc}") from exc
    except OSError as exc:
        raise LabConfigError(f"{path}: can't read: {exc.strerror}") from exc
    if not isinstance(data, dict):
        raise LabConfigError(f"{path}: (top level): expected a mapping of lab settings")
    try:
        config = LabConfig.model_validate(data)
    except ValidationError as exc:
        raise LabConfigError(_format_validation_error(path, exc)) from None
    _check_against_registries(path, config)
    return config


def _check_against_registries(path: Path, config: LabConfig) -> None:
    vocabulary = load_vocabulary()
    for index, source in enumerate(config.sources):
        where = f"{path}: sources.{index}"
        try:
            get_codec(source.format)
        except CodecNotFoundError as exc:
            raise LabConfigError(f"{where}.format: {exc}") from None
        try:
            source.codec_options  # noqa: B018 - parsing is the check
        except ValueError as exc:
            raise LabConfigError(f"{where}.options: {exc}") from None
        seen: dict[str, KeyMapping] = {}
        for mapping in source.key_mappings:
            earlier = seen.setdefault(mapping.key, mapping)
            if earlier is not mapping:
                raise LabConfigError(
                    f"{where}.{mapping.where}: key {mapping.key!r} is already mapped by {earlier.where}"
                )
            problem = vocabulary.check_meaning(mapping.meaning)
            if problem is not None:
                raise LabConfigError(f"{where}.{mapping.where}.{problem[0]}: {problem[1]}")
        for quantity, unit in source.default_units.items():
            if vocabulary.conversion(quantity, unit) is None:
                raise LabConfigError(f"{where}.default_units.{quantity}: {unit!r} is not a unit for {quantity}")
        profiles = shipped_profiles()
        named = [("profile", source.profile)] if source.profile is not None else []
        named += [(f"devices.{pattern}.profile", device.profile) for pattern, device in source.devices.items()]
        for key, name in named:
            if name is not None and profiles.get(name) is None:
                raise LabConfigError(
                    f"{where}.{key}: no device profile {name!r} (hub/data/profiles/<vendor>/<model>.yaml; "
                    "`citylab labs profiles` lists them)"
                )


def load_labs(directory: Path) -> dict[str, LabConfig]:
    """Load every ``*.yaml`` lab config; labs may not claim each other's topics."""
    if not directory.is_dir():
        raise LabConfigError(f"{directory}: labs directory not found")
    labs: dict[str, LabConfig] = {}
    origin: dict[str, Path] = {}
    for path in sorted(directory.glob("*.y*ml")):
        config = load_lab(path)
        if config.lab in labs:
            raise LabConfigError(f"{path}: lab: {config.lab!r} is already defined in {origin[config.lab]}")
        if path.stem != config.lab:
            raise LabConfigError(f"{path}: lab: file name must be {config.lab}.yaml")
        for other in labs.values():
            for source in config.sources:
                for theirs in other.sources:
                    if overlap(source.topic, theirs.topic):
                        raise LabConfigError(
                            f"{path}: sources: topic {source.topic!r} overlaps {theirs.topic!r} "
                            f"of lab {other.lab} ({origin[other.lab]})"
                        )
        labs[config.lab] = config
        origin[config.lab] = path
    return labs
