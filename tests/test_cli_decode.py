"""The ``citylab decode`` contract that later checks rely on."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TTN = ROOT / "tests" / "data" / "ttn_v3_uplink.json"  # source: tests/data/ttn_v3_uplink.src.txt


def decode(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "hub.cli", "decode", *args],
        input=stdin,
        capture_output=True,
        cwd=ROOT,
        timeout=60,
        check=False,
    )


def test_prints_one_json_reading_per_line_with_the_contract_fields() -> None:
    done = decode(
        "--format",
        "ttn-v3",
        "--lab",
        "aarhus-city-lab",
        "--topic",
        "v3/aarhus-city-lab@ttn/devices/lamp-1/up",
        str(TTN),
    )
    assert done.returncode == 0, done.stderr
    readings = [json.loads(line) for line in done.stdout.splitlines()]
    assert readings == [
        {
            "city": "aarhus",
            "lab": "aarhus-city-lab",
            "device": "lamp-1",
            "quantity": "temperature",
            "value": 1.0,
            "unit": "Cel",
            "time": "2020-02-12T15:15:45.787Z",
            "lat": 37.97155556731436,
            "lon": 23.72678801175413,
        },
        {
            "city": "aarhus",
            "lab": "aarhus-city-lab",
            "device": "lamp-1",
            "quantity": "illuminance",
            "value": 0.64,
            "unit": "lx",
            "time": "2020-02-12T15:15:45.787Z",
            "lat": 37.97155556731436,
            "lon": 23.72678801175413,
        },
    ]


def test_without_a_lab_city_and_lab_are_null_and_stdin_works() -> None:
    done = decode(
        "--format", "senml", "-", stdin=b'[{"bn":"urn:dev:ow:1:","n":"temperature","u":"Cel","v":20,"t":1.7e9}]'
    )
    assert done.returncode == 0, done.stderr
    [reading] = [json.loads(line) for line in done.stdout.splitlines()]
    assert reading["city"] is None and reading["lab"] is None
    assert reading["device"] == "urn:dev:ow:1"
    assert reading["time"] == "2023-11-14T22:13:20Z"


def test_bad_payload_exits_2_with_one_line_and_no_traceback() -> None:
    done = decode("--format", "ngsi-ld", "-", stdin=b'{"id": "x", "type": ')
    assert done.returncode == 2
    lines = done.stderr.decode().strip().splitlines()
    assert len(lines) == 1
    assert "not valid JSON" in lines[0]
    assert "Traceback" not in done.stderr.decode()


def test_unknown_format_and_lab_are_clear_errors() -> None:
    done = decode("--format", "carrier-pigeon", str(TTN))
    assert done.returncode == 2
    assert "unknown format 'carrier-pigeon'" in done.stderr.decode()
    done = decode("--format", "ttn-v3", "--lab", "atlantis-lab", str(TTN))
    assert done.returncode == 2
    assert "unknown lab 'atlantis-lab'" in done.stderr.decode()
