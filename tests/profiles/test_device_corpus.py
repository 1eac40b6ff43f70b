"""The TTN device-repository corpus (tests/data/device-corpus): the vendors' normalized output as an oracle.

For every example with an oracle the hub must store exactly the readings the oracle implies and none
that contradicts it, both as ``check.py`` sends it (the decoder output alone, no ``version_ids``: the
aliases and their fallback guesses decide) and as a device registered from the repository sends it
(with ``version_ids``: its profile decides). Every numeric key of every example is mapped or ignored by
the device's profile, and every example is among its profile's own examples.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from hub.resolver import Profile, shipped_profiles
from tests.profiles.support import contradictions, corpus, examples, run, same_readings, triples

RECORDS = corpus()
WITH_ORACLE = [(index, record) for index, record in enumerate(RECORDS) if record["normalized"] is not None]

# The one deliberate disagreement with an oracle: Tektelic's normalizer files the `light_detected` flag
# (0/1) as air.lightIntensity 1 lx. A flag is no illuminance, and 1 lx (darkness) would be a wrong
# meaning, worse than a missing one: the profile ignores the key (hub/data/profiles/tektelic/t00061xx.yaml).
DISAGREEMENTS = {
    ("tektelic", "t00061xx", "Light Detection Uplink"): "the light_detected flag is no illuminance",
}


def _profile(record: dict[str, Any]) -> Profile:
    """The profile written for the record's codec file (one profile per codec file of the repository)."""
    origin = f"profiles/{record['vendor']}/{record['device']}.yaml".lower()
    return next(profile for profile in shipped_profiles().files() if profile.origin == origin)


def _ids(pairs: list[tuple[int, dict[str, Any]]]) -> list[str]:
    return [f"{record['vendor']}/{record['device']}[{index}]" for index, record in pairs]


def test_the_corpus_is_the_measured_one() -> None:
    assert len(RECORDS) == 118
    assert len([record for _, record in WITH_ORACLE if record["expected"]]) == 14
    assert sum(len(record["expected"]) for record in RECORDS) == 28


@pytest.mark.parametrize("with_profile", [False, True], ids=["decoder-output-only", "version-ids"])
@pytest.mark.parametrize(("index", "record"), WITH_ORACLE, ids=_ids(WITH_ORACLE))
def test_every_example_with_an_oracle_matches_it(index: int, record: dict[str, Any], with_profile: bool) -> None:
    model = _profile(record).model if with_profile else None
    processed = run(record["decoded_payload"], device=f"corpus-{index}", f_port=record["f_port"], model=model)
    assert processed.failure is None, processed.failure
    got = triples(processed.result.readings)
    expected = record["expected"]
    disagreement = DISAGREEMENTS.get((record["vendor"], record["device"], record["description"]))
    if disagreement is not None:
        # The flag gives no reading at all (and so nothing the oracle could be contradicted by).
        assert got == [], disagreement
        return
    for entry in expected:
        assert any(same_readings([reading], [entry]) for reading in got), f"missing {entry}; got {got}"
    assert not contradictions(got, expected, record["normalized"])


@pytest.mark.parametrize(("index", "record"), list(enumerate(RECORDS)), ids=_ids(list(enumerate(RECORDS))))
def test_every_example_is_one_of_its_profiles_examples(index: int, record: dict[str, Any]) -> None:
    """So the profile tests (tests/profiles/test_profile_examples.py) cover it: its readings, and every
    numeric key mapped or ignored by the profile."""
    profile = _profile(record)
    payload = json.dumps(record["decoded_payload"], sort_keys=True)
    assert any(
        example.profile is profile and json.dumps(example.decoded_payload, sort_keys=True) == payload
        for example in examples()
    ), f"{record['description']!r} is not among {profile.origin}'s examples"


def test_without_its_profile_a_device_gets_no_meaning_its_profile_contradicts_unless_as_a_visible_guess() -> None:
    """A device without a profile gets the aliases' meanings and, where those know nothing, their fallback
    guesses. A meaning the device's profile contradicts may only come from a guess, and every guess is
    reported (``guessed``: shown to the operator by ``citylab labs unmapped`` with the profile to use)."""
    for index, record in enumerate(RECORDS):
        profile = _profile(record)
        guessed = run(record["decoded_payload"], device=f"c-{index}", f_port=record["f_port"]).result
        profiled = run(record["decoded_payload"], device=f"c-{index}", f_port=record["f_port"], model=profile.model)
        known = {(reading.quantity, reading.value) for reading in profiled.result.readings}
        guesses = {item.guess for item in guessed.guessed}
        for reading in guessed.readings:
            if (reading.quantity, reading.value) not in known:
                assert reading.quantity in guesses, f"{profile.origin}: {reading.quantity} {reading.value}"
