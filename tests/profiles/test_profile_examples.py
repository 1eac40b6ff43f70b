"""Every device profile's examples, through the real pipeline, give exactly their expected readings.

The examples are the vendors' published decoder outputs (TTN device repository), kept beside each
profile in ``hub/data/profiles/<vendor>/testdata/``; the uplink carries TTN's ``version_ids``, as a
device registered from the repository does, and the same output arrives again as a ChirpStack event
whose device profile is named like the device.
"""

from __future__ import annotations

import json
import math

import pytest

from adapters import DecodeContext, get_codec
from core.model import RawObservation
from core.timeutil import now_ns
from hub.pipeline import Pipeline
from hub.resolver import Layer, shipped_profiles
from hub.vocabulary import load_vocabulary
from tests.profiles.support import (
    LAB,
    TIME,
    Example,
    contradictions,
    examples,
    examples_file,
    run,
    same_readings,
    triples,
    uplink,
)

EXAMPLES = examples()
VOCABULARY = load_vocabulary()


def test_every_profile_has_its_examples() -> None:
    profiles = shipped_profiles().files()
    assert len(profiles) >= 100
    for profile in profiles:
        assert examples_file(profile).is_file(), f"{profile.origin}: no testdata"
        assert any(example.profile is profile for example in EXAMPLES), f"{profile.origin}: no examples"


def test_every_model_id_and_name_selects_its_profile() -> None:
    registry = shipped_profiles()
    for profile in registry.files():
        for model in profile.models:
            assert registry.get(model) is profile
        for name in profile.names:
            assert registry.get(name) is profile, name
            assert registry.get(name.upper().replace(" ", "_")) is profile, name  # loosely: case and punctuation


@pytest.mark.parametrize("example", EXAMPLES, ids=[example.id for example in EXAMPLES])
def test_the_example_gives_its_expected_readings(example: Example) -> None:
    processed = run(example.decoded_payload, f_port=example.f_port, model=example.profile.model)
    assert processed.failure is None, processed.failure
    result = processed.result
    assert result.profile == example.profile.model
    got = triples(result.readings)
    assert same_readings(got, example.expected), f"{example.description!r}: {got} != {example.expected}"
    # The values the hub must refuse are refused, each with its reason, and nothing else is.
    rejected = sorted(str(rejection.key) for rejection in result.rejections)
    wanted = sorted(entry[2].split(":")[0] for entry in example.rejected)
    assert rejected == wanted, [rejection.detail for rejection in result.rejections]
    if example.oracle is not None:
        # The vendor's normalized output: every reading it implies, none that contradicts it.
        missing = [entry for entry in example.oracle if not any(same_readings([r], [entry]) for r in got)]
        assert not missing or example.oracle_disagreement, missing
        assert not contradictions(got, example.oracle, example.normalized)


def _numeric(value: object) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int | float):
        return math.isfinite(value)
    if isinstance(value, str):
        try:
            return math.isfinite(float(value))
        except ValueError:
            return VOCABULARY.quantities["windDirection"].word_value(value) is not None
    return False


def _observations(example: Example) -> tuple[RawObservation, ...]:
    decoded = get_codec("ttn-v3").decode(
        uplink(example.decoded_payload, "dev-1", example.f_port, example.profile.model), DecodeContext()
    )
    return decoded.native or decoded.observations


@pytest.mark.parametrize("example", EXAMPLES, ids=[example.id for example in EXAMPLES])
def test_every_numeric_key_is_mapped_or_ignored_by_the_profile(example: Example) -> None:
    """Nothing a device sends is left to chance: its profile says what each number is, or why it is none."""
    resolver = LAB.sources[0].resolver
    observations = _observations(example)
    present = frozenset(observation.key for observation in observations)
    for observation in observations:
        if not _numeric(observation.value):
            continue
        found = resolver.resolve(observation.key, example.profile, element=observation.element, present=present)
        assert found is not None, f"{observation.key} = {observation.value!r} is neither mapped nor ignored"
        assert found.layer is Layer.PROFILE or found.time, f"{observation.key}: decided by {found.origin}"


@pytest.mark.parametrize("example", EXAMPLES, ids=[example.id for example in EXAMPLES])
def test_the_same_output_from_chirpstack_selects_the_profile_by_its_name(example: Example) -> None:
    name = example.profile.names[0]
    event = {
        "time": TIME,
        "deviceInfo": {"devEui": "a84041000181c61d", "deviceProfileName": name},
        "fPort": example.f_port or 1,
        "object": example.decoded_payload,
    }
    topic = "application/app/device/a84041000181c61d/event/up"
    processed = Pipeline().process(
        json.dumps(event).encode(), format_name="chirpstack-v4", received_ns=now_ns(), topic=topic, lab=LAB
    )
    assert processed.failure is None, processed.failure
    assert processed.result.profile == example.profile.model
    assert same_readings(triples(processed.result.readings), example.expected)


@pytest.mark.parametrize("example", EXAMPLES, ids=[example.id for example in EXAMPLES])
def test_no_alias_that_is_not_a_guess_contradicts_a_profile(example: Example) -> None:
    """The aliases (layers 3 and 4) hold only keys whose meaning can't be wrong: for every key of every
    device's examples, an alias that is no fallback guess means what the device's profile says."""
    resolver = LAB.sources[0].resolver
    observations = _observations(example)
    present = frozenset(observation.key for observation in observations)
    for observation in observations:
        alias = resolver.resolve(observation.key, element=observation.element, present=present)
        if alias is None or alias.fallback or alias.time:
            continue
        profiled = resolver.resolve(observation.key, example.profile, element=observation.element, present=present)
        assert profiled is not None and profiled.quantity == alias.quantity, (
            f"{observation.key}: {alias.origin} says {alias.quantity}, "
            f"{example.profile.origin} says {profiled.quantity if profiled else 'nothing'}"
        )
