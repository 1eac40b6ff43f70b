"""``citylab simulate``: argument handling, dry runs, and publishing to the real broker."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from hub.devstack import free_port
from hub.labs import load_labs
from simulators import PublishError, build_fleet, publish
from simulators.command import BadInputError, parse_range

ROOT = Path(__file__).resolve().parents[2]
NOW_NS = 1_772_359_200_000_000_000  # 2026-03-01T10:00:00Z
DAY_NS = 86400 * 1_000_000_000


def simulate(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hub.cli", "simulate", *args], capture_output=True, text=True, cwd=ROOT, timeout=120
    )


def test_backfill_ranges_take_dates_times_and_spans():
    assert parse_range("2026-02-01", "2026-02-08", NOW_NS) == (
        1_769_904_000_000_000_000,
        1_769_904_000_000_000_000 + 7 * DAY_NS,
    )
    start, end = parse_range("7d", "now", NOW_NS)
    assert end - start == 7 * DAY_NS and end <= NOW_NS
    assert parse_range("2026-02-01T06:00:00+01:00", "2026-02-01T07:00:00Z", NOW_NS)[0] == 1_769_922_000_000_000_000
    with pytest.raises(BadInputError, match="not before"):
        parse_range("2026-02-08", "2026-02-01", NOW_NS)
    with pytest.raises(BadInputError, match=r"not a duration|not an ISO"):
        parse_range("seven days", "now", NOW_NS)


def test_dry_run_prints_each_message_of_the_selected_city():
    result = simulate(
        "backfill",
        "--from",
        "2026-03-01T10:00:00Z",
        "--to",
        "2026-03-01T11:00:00Z",
        "--city",
        "copenhagen",
        "--dry-run",
    )
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(lines) > 30
    assert {line["lab"] for line in lines} == {"copenhagen-street-lab"}
    assert all(line["topic"].startswith("copenhagen-street-lab/ngsi-ld/") for line in lines)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["backfill", "--faults", "gremlins"], "unknown fault kinds"),
        (["backfill", "--lab", "atlantis-lab"], "unknown lab"),
        (["backfill", "--city", "atlantis"], "no lab in city"),
        (["load", "--rate", "0", "--seconds", "1"], "must be positive"),
    ],
)
def test_bad_input_is_refused_with_a_reason(args, message):
    result = simulate(*args)
    assert result.returncode == 2
    assert message in result.stderr


def test_an_unreachable_broker_is_an_error_not_a_hang():
    result = simulate(
        "backfill", "--from", "1h", "--lab", "aarhus-city-lab", "--mqtt-url", f"mqtt://127.0.0.1:{free_port()}"
    )
    assert result.returncode == 1
    assert "can't reach MQTT broker" in result.stderr
    fleet = build_fleet(load_labs(ROOT / "labs"))
    with pytest.raises(PublishError):
        publish(fleet.backfill(NOW_NS, NOW_NS + DAY_NS // 24), f"mqtt://127.0.0.1:{free_port()}")


@pytest.mark.integration
def test_load_mode_publishes_the_requested_count_and_reports_it(broker):
    result = simulate("load", "--rate", "500", "--seconds", "2", "--json", "--mqtt-url", broker.url)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["sent"] == report["acked"] == 1000
    assert report["errors"] == 0
    assert sum(report["by_lab"].values()) == 1000
    assert set(report["by_lab"]) == {lab for lab in load_labs(ROOT / "labs")}
    assert 100 < report["rate_per_s"] <= 600


def test_load_mode_injects_the_faults_it_is_asked_for():
    clean = simulate("load", "--rate", "200", "--seconds", "2", "--dry-run")
    faulty = simulate("load", "--rate", "200", "--seconds", "2", "--dry-run", "--faults", "all", "--fault-rate", "0.3")
    assert clean.returncode == faulty.returncode == 0, faulty.stderr
    clean_lines = [json.loads(line) for line in clean.stdout.splitlines()]
    faulty_lines = [json.loads(line) for line in faulty.stdout.splitlines()]
    assert len(clean_lines) == 400 and not any(line["faults"] for line in clean_lines)
    kinds = {kind for line in faulty_lines for kind in line["faults"]}
    assert {"malformed", "wrong_type", "duplicate", "clock_skew"} <= kinds
    # A duplicate is one more message on the wire; a silent device leaves its later slots empty.
    duplicates = sum("duplicate" in line["faults"] for line in faulty_lines)
    assert duplicates > 0 and len(faulty_lines) != len(clean_lines)


def test_stored_devices_count_sensorthings_datastreams_once():
    fleet = build_fleet(load_labs(ROOT / "labs"))
    stavanger = [d for d in fleet.devices if d.lab.lab == "stavanger-sensorthings"]
    stored = [key for key in fleet.stored_devices if key[0] == "stavanger-sensorthings"]
    assert len(stavanger) > len(stored) > 0
    assert len(fleet.stored_devices) == len({(d.lab.lab, d.device.hub_id) for d in fleet.devices})
