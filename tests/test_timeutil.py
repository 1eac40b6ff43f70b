from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest

from core.timeutil import TimeFormatError, epoch_to_ns, guess_epoch_unit, ns_to_rfc3339, parse_iso_ns

CPH = ZoneInfo("Europe/Copenhagen")


def test_nanoseconds_survive_parsing_and_formatting() -> None:
    ns = parse_iso_ns("2020-02-12T15:15:46.014773143Z", None)
    assert ns == 1581520546014773143
    assert ns_to_rfc3339(ns) == "2020-02-12T15:15:46.014773143Z"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-01-15T12:00:00", "2026-01-15T11:00:00Z"),  # winter: UTC+1
        ("2026-07-15T12:00:00", "2026-07-15T10:00:00Z"),  # summer: UTC+2
        ("2026-07-15 12:00", "2026-07-15T10:00:00Z"),
        ("2026-07-15T12:00:00+00:00", "2026-07-15T12:00:00Z"),
        ("2026-07-15T12:00:00-0230", "2026-07-15T14:30:00Z"),
        ("2026-07-15T12:00:00.5+02:00", "2026-07-15T10:00:00.5Z"),
    ],
)
def test_zoneless_times_are_in_the_lab_timezone(text: str, expected: str) -> None:
    assert ns_to_rfc3339(parse_iso_ns(text, CPH)) == expected


def test_zoneless_time_without_a_lab_is_utc() -> None:
    assert ns_to_rfc3339(parse_iso_ns("2026-07-15T12:00:00", None)) == "2026-07-15T12:00:00Z"


@pytest.mark.parametrize(
    "text", ["yesterday", "2026-13-01T00:00:00Z", "2026-01-01T25:00:00Z", "2026-01-01T00:00:00+25:00", ""]
)
def test_bad_times_raise_a_clear_error(text: str) -> None:
    with pytest.raises(TimeFormatError):
        parse_iso_ns(text, None)


@pytest.mark.parametrize(
    ("value", "unit"),
    [(1_665_561_758, "s"), (1_665_561_758_123, "ms"), (1_665_561_758_123_456, "us"), (1_665_561_758_123_456_789, "ns")],
)
def test_epoch_units_are_guessed_from_magnitude(value: int, unit: str) -> None:
    assert guess_epoch_unit(value) == unit
    assert ns_to_rfc3339(epoch_to_ns(value, unit)).startswith("2022-10-12T08:02:38")
