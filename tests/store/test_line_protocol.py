from __future__ import annotations

from core.model import Reading
from hub.store.line_protocol import escape_tag, reading_to_line, stats_line


def reading(**changes) -> Reading:
    base = {
        "city": "aarhus",
        "lab": "aarhus-city-lab",
        "device": "lamp-1",
        "quantity": "temperature",
        "value": 21.0,
        "unit": "Cel",
        "time_ns": 1772359200123456789,
        "lat": None,
        "lon": None,
    }
    return Reading(**{**base, **changes})


def test_schema_measurement_sorted_tags_float_value_ns_time() -> None:
    assert reading_to_line(reading()) == (
        "temperature,city=aarhus,device=lamp-1,lab=aarhus-city-lab value=21.0 1772359200123456789"
    )


def test_integers_are_written_as_floats_and_location_as_fields() -> None:
    line = reading_to_line(reading(value=3, lat=56.1, lon=10.2))
    assert " value=3.0,lat=56.1,lon=10.2 " in line


def test_separators_are_escaped_so_one_reading_is_one_line() -> None:
    line = reading_to_line(reading(device="a b,city=oslo=x\nnext value=1 1"))
    assert line.count("\n") == 0
    assert "device=a\\ b\\,city\\=oslo\\=x\\nnext\\ value\\=1\\ 1,lab=" in line


def test_backslashes_cannot_escape_the_next_separator() -> None:
    assert escape_tag("ends\\") == "ends/"


def test_stats_line() -> None:
    assert stats_line("hub_stats", {"lab": "x", "reason": ""}, {"messages": 2, "readings": 5}, 7) == (
        "hub_stats,lab=x messages=2.0,readings=5.0 7"
    )
