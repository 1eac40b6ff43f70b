"""The benchmark's machinery, kept working: a tiny run of ``python -m benchmarks`` end to end, and its parts.

Never a timed assertion: these tests check counts, losses and that the result JSON has its
fields. Speeds are for the benchmark to report, not for the suite to judge.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter

import orjson
import pytest

from benchmarks import hotpath, nodered
from benchmarks.latency import percentile, probe_statement
from benchmarks.mix import LABS_DIR, ROOT, build_messages, expect, parse_weights
from benchmarks.run import ratios, targets
from hub.labs import load_labs

START_NS = 1_790_000_000_000_000_000


@pytest.fixture(scope="module")
def labs():
    return load_labs(LABS_DIR)


def test_issue13_mix_is_a_third_each_with_the_issues_readings_per_message(labs):
    messages = build_messages(labs, "issue13", 300, start_ns=START_NS)
    assert Counter(m.format for m in messages) == {"ttn-v3": 100, "ngsi-ld": 100, "senml": 100}
    expectation = expect(labs, messages)
    per_message = {
        fmt: {len(lines) for m, lines in zip(messages, expectation.lines, strict=True) if m.format == fmt}
        for fmt in ("ttn-v3", "ngsi-ld", "senml")
    }
    assert per_message == {"ttn-v3": {5}, "ngsi-ld": {3, 4}, "senml": {3}}
    assert expectation.dead_letters == 0
    # Every reading is its own point: nothing collapses onto another's series and time.
    assert expectation.points == expectation.readings
    # The labs' real topics, so the hub routes them.
    assert all(m.message.topic.startswith(("v3/", "copenhagen-", "tromso-", "oslo-", "baerum-")) for m in messages)


def test_the_mix_is_deterministic_and_weights_change_the_shares(labs):
    first = build_messages(labs, "issue13", 60, start_ns=START_NS)
    again = build_messages(labs, "issue13", 60, start_ns=START_NS)
    assert [m.message.payload for m in first] == [m.message.payload for m in again]
    weighted = build_messages(labs, "issue13", 60, start_ns=START_NS, weights=parse_weights("ttn-v3=2,senml=1"))
    assert Counter(m.format for m in weighted) == {"ttn-v3": 40, "senml": 20}


def test_all_formats_mix_has_every_format(labs):
    messages = build_messages(labs, "all-formats", 400, start_ns=START_NS)
    assert len({m.format for m in messages}) == 10


@pytest.mark.parametrize("text", ["ttn-v3", "ttn-v3=x", "mqtt=1", "senml=-1", "senml=0"])
def test_bad_weights_are_refused_with_the_reason(text):
    with pytest.raises(ValueError, match="--weights"):
        parse_weights(text)


def test_probe_statement_finds_one_point_by_its_tags_and_time():
    line = r"temperature,city=k\,b,device=a\ b,lab=x\=y value=1.5 1790000000123000000"
    assert probe_statement(line) == (
        'SELECT count("value") FROM "temperature" WHERE "city"=\'k,b\' AND "device"=\'a b\' '
        "AND \"lab\"='x=y' AND time = 1790000000123000000"
    )


def test_percentile_is_nearest_rank():
    values = [float(v) for v in range(1, 101)]
    assert (percentile(values, 0.5), percentile(values, 0.99), percentile([7.0], 0.99)) == (50.0, 99.0, 7.0)


def test_node_red_expectation_mirrors_the_flow_function(labs):
    ttn = [m for m in build_messages(labs, "issue13", 30, start_ns=START_NS) if m.format == "ttn-v3"]
    points, measurements = nodered.expected_points(ttn)
    numeric = [
        key
        for m in ttn
        for key, value in orjson.loads(m.message.payload)["uplink_message"]["decoded_payload"].items()
        if isinstance(value, int | float)
    ]
    assert points == len(numeric) and set(measurements) == set(numeric)
    flow = nodered.NodeRedFlow(1883, 8086, "db", "bench", ("v3/a@ttn/devices/+/up",), 1880).nodes()
    broker = next(node for node in flow if node["type"] == "mqtt-broker")
    assert broker["cleansession"] is False and broker["autoUnsubscribe"] is False
    assert next(node for node in flow if node["type"] == "mqtt in")["qos"] == "1"
    assert next(node for node in flow if node["id"] == "bench-points")["wires"] == [["bench-write"]]
    batched = nodered.NodeRedFlow(1883, 8086, "db", "bench", ("t",), 1880, batch_messages=1000).nodes()
    join = next(node for node in batched if node["type"] == "join")
    assert (join["count"], join["timeout"], join["wires"]) == ("1000", "0.1", [["bench-flatten"]])


def test_hotpath_measures_and_profiles_without_judging_speed(labs, tmp_path):
    messages = build_messages(labs, "issue13", 60, start_ns=START_NS)
    result = hotpath.measure(labs, messages, repeats=2)
    assert result["messages"] == 60 and result["readings"] == expect(labs, messages).readings
    assert result["dead_letters"] == 0
    # Messages measured at any time are received after it, as the hub would: nothing refused as future.
    recent = build_messages(labs, "issue13", 30, start_ns=START_NS + 10**17)
    assert hotpath.measure(labs, recent, repeats=1, by_format=False)["dead_letters"] == 0
    assert set(result["us_per_msg"]) == set(result["cpu_us_per_msg"]) == {"median", "min", "max", "spread_pct"}
    assert set(result["by_format"]) == {"ttn-v3", "ngsi-ld", "senml"}
    out = tmp_path / "hot.json"
    grind = tmp_path / "hot.callgrind"
    argv = ["--messages", "30", "--repeats", "1", "--profile", "--callgrind", str(grind), "--json", str(out)]
    assert hotpath.main(argv) == 0
    written = json.loads(out.read_text())
    assert written["profile_top_own_time"] and "own_pct" in written["profile_top_own_time"][0]
    assert grind.read_text().startswith("# callgrind format")


def _run(phase: str, rate: float, status: str = "ok", lost: int = 0) -> dict:
    cpu = {"consumer": 1e6 / rate, "broker": 1.0, "influxd": 1.0}
    return {"phase": phase, "status": status, "rate_msg_s": rate, "lost": lost, "processes": [], "cpu_us_per_msg": cpu}


def test_ratios_are_taken_within_a_round_and_targets_get_verdicts():
    rounds = [
        {"ceiling": _run("ceiling", 10_000), "hub": _run("hub", 6_000), "hub_ttn": _run("hub_ttn", 8_000),
         "node_red": _run("node_red", 2_000)},
        {"ceiling": _run("ceiling", 20_000), "hub": _run("hub", 8_000), "hub_ttn": _run("hub_ttn", 8_000),
         "node_red": _run("node_red", 2_500)},
    ]  # fmt: skip
    ratio = ratios(rounds)
    assert ratio["hub_over_ceiling"]["per_round"] == [0.6, 0.4]
    assert ratio["hub_over_node_red"]["per_round"] == [4.0, 3.2]
    assert ratio["workers_over_hub"]["median"] is None
    assert ratio["hub_over_ceiling"]["by_cpu"] is not None
    summary = {
        "ceiling": rounds[0]["ceiling"],
        "hub": rounds[0]["hub"],
        "latency": {
            "status": "ok",
            "latency_ms": {"p99": 180.0},
            "rate_achieved_msg_s": 1000.0,
            "lost": 0,
            "processes": [],
        },
    }
    rows = {row["target"][:12]: row for row in targets(summary, ratio, {"workers": "not available: x"})}
    assert rows["one worker ≥"]["verdict"] == "met"  # median of 0.6 and 0.4 is 0.5
    assert rows["two workers "]["verdict"] == "not measured"
    assert rows["≥ 4 × Node-R"]["verdict"] == "missed"  # median 3.6
    assert rows["p99 ≤ 250 ms"]["verdict"] == "met"
    summary["latency"]["rate_achieved_msg_s"] = 100.0  # a p99 at another rate says nothing about the target
    slow = {row["target"][:12]: row for row in targets(summary, ratio, {})}
    assert slow["p99 ≤ 250 ms"]["verdict"] == "not measured"
    assert rows["zero reading"]["verdict"] == "met"


@pytest.mark.integration
def test_a_tiny_benchmark_run_counts_every_reading_and_writes_its_json(tmp_path):
    out = tmp_path / "result.json"
    command = [
        sys.executable, "-m", "benchmarks", "--messages", "300", "--no-node-red", "--latency-rate", "100",
        "--latency-seconds", "2", "--hotpath-messages", "150", "--stall-s", "20", "--out", str(out),
        "--keep", str(tmp_path / "work"),
    ]  # fmt: skip
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=280)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    result = json.loads(out.read_text())
    assert result["schema"] == "citylab-benchmark/1"
    assert {"cpu_model", "cores", "memory_gb", "kernel", "python", "mosquitto", "influxdb"} <= set(result["machine"])
    assert result["parameters"]["messages"] == 300
    assert result["broker"]["queue_limits"]["max_queued_messages"] >= 600
    mix = result["mix"]
    assert mix["messages"] == 300 and mix["points"] == mix["readings"] > 900
    phases = result["phases"]
    assert phases["ceiling"]["status"] == "ok" and phases["ceiling"]["stored"] == 300
    hub = phases["hub"]
    assert hub["status"] == "ok" and hub["stored"] == mix["points"] and hub["lost"] == 0
    assert hub["dead_letters"] == 0 and not hub["broker_warnings"]
    assert hub["peak_rss_mb"] > 0 and set(hub["cpu_us_per_msg"]) == {"consumer", "broker", "influxd"}
    assert phases["hub_ttn"]["status"] == "ok" and phases["hub_ttn"]["lost"] == 0
    assert phases["hub_ttn"]["stored"] == mix["by_format"]["ttn-v3"]["readings"]
    for key in ("node_red", "node_red_batched"):
        assert phases[key]["status"] == "skipped" and "--no-node-red" in phases[key]["note"]
    assert phases["workers"]["status"] in ("ok", "not available")
    latency = phases["latency"]
    assert latency["status"] == "ok" and latency["lost"] == 0 and latency["probes_found"] == latency["probes"] > 0
    assert set(latency["latency_ms"]) == {"p50", "p90", "p99", "max", "min"}
    assert result["in_process"]["us_per_msg"]["median"] > 0 and result["in_process"]["dead_letters"] == 0
    assert result["in_process"]["readings"] > 0
    assert set(result["ratios"]) == {
        "hub_over_ceiling",
        "workers_over_hub",
        "hub_over_node_red",
        "hub_over_node_red_batched",
        "hub_ttn_over_ceiling",
    }
    assert result["ratios"]["hub_over_ceiling"]["median"] is not None
    verdicts = {row["verdict"] for row in result["targets"]}
    assert len(result["targets"]) == 6 and verdicts <= {"met", "missed", "not measured"}
    assert "readings lost" in done.stdout or "zero readings lost" in done.stdout
