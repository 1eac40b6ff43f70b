"""Validation of request values: typed errors that name the value at fault, and InfluxDB's bounds."""

from __future__ import annotations

import pytest

from core.timeutil import NS_PER_S
from hub.read import (
    Aggregate,
    Every,
    InvalidRequest,
    LimitExceeded,
    ReadError,
    TimeRange,
    UnknownValue,
    bucket_count,
    check_buckets,
    check_cities,
    check_device,
    check_limit,
    check_quantity,
    check_slug,
    every_of_seconds,
    parse_every,
    parse_time,
    span,
    time_range,
)
from hub.read.request import MAX_EVERY_NS, MAX_TIME_NS, NS_PER_DAY, NS_PER_HOUR

MARCH_1 = 1_772_323_200 * NS_PER_S  # 2026-03-01T00:00:00Z


def test_times_are_rfc3339_with_a_zone_and_come_back_as_ns():
    assert parse_time("2026-03-01T00:00:00Z", "from") == MARCH_1
    assert parse_time("2026-03-01T01:00:00.000000001+01:00", "from") == MARCH_1 + 1


@pytest.mark.parametrize("text", ["2026-03-01", "2026-03-01T00:00:00", "now()", "2026-03-01T00:00:00Z' OR 1=1"])
def test_a_time_that_is_not_rfc3339_names_the_parameter(text):
    with pytest.raises(InvalidRequest, match=r"^to: ") as caught:
        parse_time(text, "to")
    assert caught.value.field == "to"


def test_times_outside_1970_to_2255_are_refused():
    with pytest.raises(InvalidRequest, match=r"between 1970"):
        parse_time("1969-12-31T23:59:59Z", "from")
    with pytest.raises(InvalidRequest, match=r"between 1970"):
        parse_time("2262-01-01T00:00:00Z", "to")
    assert span(0, MAX_TIME_NS, max_days=10**6) == TimeRange(0, MAX_TIME_NS)


def test_the_default_range_is_the_last_24_hours_before_to():
    window = time_range(None, "2026-03-02T00:00:00Z", max_days=366)
    assert (window.start_ns, window.end_ns) == (MARCH_1, MARCH_1 + NS_PER_DAY)
    assert (window.start, window.end) == ("2026-03-01T00:00:00Z", "2026-03-02T00:00:00Z")


def test_from_must_come_before_to_and_the_range_is_capped():
    with pytest.raises(InvalidRequest, match=r"from must be earlier than to"):
        time_range("2026-03-02T00:00:00Z", "2026-03-01T00:00:00Z", max_days=366)
    with pytest.raises(LimitExceeded, match=r"range of 400\.0 days exceeds the limit of 366 days") as caught:
        span(MARCH_1, MARCH_1 + 400 * NS_PER_DAY, max_days=366)
    assert caught.value.limit == 366


@pytest.mark.parametrize(
    ("text", "ns"), [("30s", 30 * NS_PER_S), ("15m", 900 * NS_PER_S), ("1h", NS_PER_HOUR), ("1w", 7 * NS_PER_DAY)]
)
def test_every_is_a_whole_number_of_seconds(text, ns):
    assert parse_every(text) == Every(text, ns)


@pytest.mark.parametrize("text", ["0s", "1y", "1.5h", "1h), time(1m", "-1h", "1000000s"])
def test_every_that_is_not_an_interval_is_refused(text):
    with pytest.raises(InvalidRequest, match=r"^every: ") as caught:
        parse_every(text)
    assert caught.value.field == "every"


@pytest.mark.parametrize("text", ["176057d", "999999w", "15251w", "106752d"])
def test_every_wider_than_influxdb_can_represent_is_refused(text):
    # Pinned: schemathesis once sent every=176057d; InfluxDB answered "overflowed duration".
    with pytest.raises(
        LimitExceeded, match=rf"^every: {text} is longer than InfluxDB can represent; the longest is 106751d"
    ):
        parse_every(text)


def test_the_widest_every_fits_int64_nanoseconds():
    assert parse_every("106751d").ns <= MAX_EVERY_NS < 2**63
    assert parse_every("15250w").ns <= MAX_EVERY_NS
    assert every_of_seconds(MAX_EVERY_NS // NS_PER_S).ns == MAX_EVERY_NS
    with pytest.raises(LimitExceeded):
        every_of_seconds(MAX_EVERY_NS // NS_PER_S + 1)


@pytest.mark.parametrize(("seconds", "text"), [(1, "1s"), (90, "90s"), (900, "15m"), (7200, "2h"), (604800, "1w")])
def test_every_of_seconds_uses_the_largest_whole_unit(seconds, text):
    assert every_of_seconds(seconds) == Every(text, seconds * NS_PER_S)


def test_every_of_seconds_must_be_positive():
    with pytest.raises(InvalidRequest, match=r"every"):
        every_of_seconds(0)


def test_buckets_are_aligned_to_the_epoch_and_capped():
    window = TimeRange(MARCH_1 + 30 * 60 * NS_PER_S, MARCH_1 + 6 * NS_PER_HOUR)
    assert bucket_count(window, parse_every("1h")) == 6  # from the bucket holding 00:30
    assert bucket_count(window, parse_every("106751d")) == 1
    with pytest.raises(LimitExceeded, match=r"6 buckets of 1h exceed the limit of 5; use a longer every"):
        check_buckets(window, parse_every("1h"), 5)


def test_slugs_must_be_known():
    assert check_slug(None, "city", {"aarhus"}) is None
    assert check_slug("aarhus", "city", {"aarhus"}) == "aarhus"
    with pytest.raises(UnknownValue, match=r"city: unknown city 'atlantis'; known: aarhus, oslo") as caught:
        check_slug("atlantis", "city", {"oslo", "aarhus"})
    assert caught.value.known == ["aarhus", "oslo"]
    with pytest.raises(InvalidRequest, match=r"is not a slug"):
        check_slug("Aarhus", "city", {"aarhus"})


def test_device_ids_are_free_text_within_storable_bounds():
    assert check_device("x' OR 1=1 --") == "x' OR 1=1 --"
    for bad in ["", "a\\b", "a\nb", "x" * 129]:
        with pytest.raises(InvalidRequest, match=r"^device: "):
            check_device(bad)


def test_cities_keep_their_order_without_duplicates():
    assert check_cities("oslo,aarhus,oslo", {"aarhus", "oslo"}, 5) == ["oslo", "aarhus"]
    with pytest.raises(InvalidRequest, match=r"^cities: give city slugs"):
        check_cities("aarhus,,oslo", {"aarhus", "oslo"}, 5)
    with pytest.raises(LimitExceeded, match=r"cities: 3 cities exceed the limit of 2"):
        check_cities("a,b,c", {"a", "b", "c"}, 2)


def test_limits_and_quantities():
    assert check_limit(10, 10, "rows") == 10
    with pytest.raises(LimitExceeded, match=r"limit 11 exceeds the maximum of 10 rows; page with offset instead"):
        check_limit(11, 10, "rows")
    assert check_quantity("pm25").unit == "ug/m3"
    with pytest.raises(UnknownValue, match=r"^quantity: unknown quantity 'nope'"):
        check_quantity("nope")


def test_every_read_error_is_a_read_error_with_a_message():
    with pytest.raises(ReadError) as caught:
        parse_every("1y")
    assert str(caught.value) == caught.value.message
    assert list(Aggregate) == ["mean", "max", "min", "count"]
