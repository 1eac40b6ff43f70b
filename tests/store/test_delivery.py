"""write_exactly: every line stored, or named as refused with InfluxDB's reason, whatever shape the answer takes."""

from __future__ import annotations

import pytest

from hub.store.delivery import measurement_of, write_exactly
from hub.store.writers import TransientWriteError, unreachable
from tests.support.refusing_influx import STYLES, RefusingInflux


def lines(count: int, poison: set[int]) -> list[str]:
    return [
        f"temperature,city=aarhus,device={'poison' if i in poison else 'good'}-{i},lab=l value={i}.0 {1_000 + i}"
        for i in range(count)
    ]


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("poison", [set(), {0}, {7}, {3, 4, 90}, set(range(0, 100, 9))], ids=str)
def test_exactly_the_poison_lines_are_refused_and_every_other_is_stored(style: str, poison: set[int]) -> None:
    batch = lines(100, poison)
    influx = RefusingInflux(style)
    refused = write_exactly(influx, batch)
    assert [rejection.index for rejection in refused] == sorted(poison)
    assert sorted(set(influx.stored)) == sorted(line for i, line in enumerate(batch) if i not in poison)
    for rejection in refused:
        assert "dropped=" not in rejection.reason  # what depends on the batch is not part of a line's reason
        assert rejection.reason
    if style in ("v1", "v2"):
        assert all("field type conflict" in r.reason for r in refused)
        assert all(not r.reason.startswith(("partial write", "failure writing")) for r in refused)


def test_an_answer_that_names_the_lines_costs_no_bisection() -> None:
    influx = RefusingInflux("v3")
    write_exactly(influx, lines(1000, {5, 500, 999}))
    assert len(influx.requests) == 2  # the batch, then the rest once more to confirm it is stored


def test_bisection_costs_a_few_writes_per_poison_line() -> None:
    influx = RefusingInflux("v1")
    write_exactly(influx, lines(1500, {700}))
    # About two writes per halving: log2(1500) ~ 11.
    assert len(influx.requests) <= 2 * 11 + 1


def test_a_batch_refused_whole_is_settled_in_one_answer() -> None:
    """1.x says dropped=N: when N is the whole group, every line of it is refused, no bisection needed."""
    influx = RefusingInflux("v1", is_poison=lambda _line: True)
    refused = write_exactly(influx, lines(64, set()))
    assert len(refused) == 64
    assert len(influx.requests) == 1


def test_the_measurement_an_answer_names_is_split_off_first() -> None:
    batch = [f"pm25,city=c,device=d,lab=l value={i}.0 {i}" for i in range(50)] + [
        f"temperature,city=c,device=poison-{i},lab=l value={i}.0 {i}" for i in range(50)
    ]
    influx = RefusingInflux("v2")
    refused = write_exactly(influx, batch)
    assert [r.index for r in refused] == list(range(50, 100))
    # The pm25 part once, the temperature part once (all of it dropped): three writes in all.
    assert len(influx.requests) == 3


def test_413_splits_until_the_parts_fit() -> None:
    influx = RefusingInflux("v1", max_lines=30)
    batch = lines(100, set())
    assert write_exactly(influx, batch) == []
    assert sorted(influx.stored) == sorted(batch)
    assert [len(request) for request in influx.requests] == [100, 50, 25, 25, 50, 25, 25]


def test_a_single_line_too_large_for_influxdb_is_refused() -> None:
    influx = RefusingInflux("v1", max_lines=0)
    (refused,) = write_exactly(influx, lines(1, set()))
    assert (refused.index, refused.status) == (0, 413)


def test_an_outage_propagates_and_the_batch_can_be_written_again() -> None:
    influx = RefusingInflux("v1", down=unreachable(ConnectionRefusedError("refused")))
    with pytest.raises(TransientWriteError):
        write_exactly(influx, lines(10, {1}))
    influx.down = None
    assert [r.index for r in write_exactly(influx, lines(10, {1}))] == [1]


def test_nothing_to_write_writes_nothing() -> None:
    influx = RefusingInflux()
    assert write_exactly(influx, []) == []
    assert influx.requests == []


@pytest.mark.parametrize(
    ("line", "measurement"),
    [
        ("temperature,city=a value=1.0 1", "temperature"),
        ("temperature value=1.0 1", "temperature"),
        (r"my\ measure\,ment,a=b value=1.0 1", "my measure,ment"),
    ],
)
def test_measurement_of(line: str, measurement: str) -> None:
    assert measurement_of(line) == measurement
