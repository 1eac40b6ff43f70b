"""The README's main job, run for real: local stack, backfill, live, clean stop on Ctrl-C."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from hub.devstack import free_port
from hub.labs import load_labs
from simulators import build_fleet

ROOT = Path(__file__).resolve().parents[2]


def test_demo_backfills_goes_live_and_stops_cleanly(tmp_path: Path) -> None:
    data_dir = tmp_path / "demo"
    log = tmp_path / "demo.log"
    port = free_port()
    page = f"http://127.0.0.1:{port}/"
    with log.open("wb") as out:
        # Not a terminal: the output is a log file, as in CI or `scripts/demo > demo.log`.
        demo = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "simulators.demo",
                "--data-dir",
                str(data_dir),
                "--days",
                "0.05",
                "--live-interval",
                "5",
                "--port",
                str(port),
            ],
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 120
        while "Simulating live" not in log.read_text(errors="replace"):
            assert demo.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        opened = httpx.get(page, headers={"Accept-Language": "da"}, timeout=30)
        # The live phase reports progress every few seconds even though no terminal is watching.
        while not re.search(r"^live: \d+ sent", log.read_text(errors="replace"), re.MULTILINE):
            assert time.monotonic() < deadline + 20, log.read_text()
            time.sleep(0.5)
        demo.send_signal(signal.SIGINT)
        assert demo.wait(60) == 0, log.read_text()
    text = log.read_text()
    lines = text.splitlines()
    # The page comes first, at the pinned port, and it opens, filled, in the language asked for.
    assert lines[0] == f"The hub's page: {page}  (it fills while the history loads)", text
    assert opened.status_code == 200 and 'lang="da"' in opened.text and "Bergen" in opened.text
    assert f"Open its page: {page}" in text
    # Whole lines, never hard-wrapped at 80 columns: the example commands stay copyable.
    curl = next(line for line in lines if "curl -G" in line)
    assert curl.endswith("GROUP BY city'") and len(curl) > 80
    assert any(line.strip().startswith("e.g. curl 'http://127.0.0.1:") and "compare?" in line for line in lines)
    assert "0 errors" in text
    assert f"HTTP API: http://127.0.0.1:{port}" in text
    # Devices as /devices lists them: Stavanger's SensorThings datastreams count once per device.
    fleet = build_fleet(load_labs(ROOT / "labs"))
    assert f"{len(fleet.stored_devices)} devices ({len(fleet.devices)} data streams) in 14 labs, 13 cities" in text
    assert "Traceback" not in text
    hub_log = (data_dir / "hub.log").read_text()
    assert "stopped" in hub_log


def test_every_demo_option_has_a_help_text() -> None:
    from simulators.demo import _parser

    for action in _parser()._actions:
        assert action.help, action.option_strings


def test_demo_never_empties_a_directory_it_did_not_make(tmp_path: Path) -> None:
    precious = tmp_path / "precious.txt"
    precious.write_text("mine")
    done = subprocess.run(
        [sys.executable, "-m", "simulators.demo", "--data-dir", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert b"not made by the demo" in done.stderr
    assert precious.read_text() == "mine"
