"""The README's main job, run for real: local stack, backfill, live, clean stop on Ctrl-C."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_demo_backfills_goes_live_and_stops_cleanly(tmp_path: Path) -> None:
    data_dir = tmp_path / "demo"
    log = tmp_path / "demo.log"
    with log.open("wb") as out:
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
        time.sleep(3)
        demo.send_signal(signal.SIGINT)
        assert demo.wait(60) == 0, log.read_text()
    text = log.read_text()
    assert "0 errors" in text
    assert "HTTP API: http://127.0.0.1:" in text
    assert "13 cities" in text
    assert "Traceback" not in text
    hub_log = (data_dir / "hub.log").read_text()
    assert "stopped" in hub_log


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
