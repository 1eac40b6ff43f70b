"""The demo: a local stack filled with a week of every city's data, then living data until Ctrl-C.

``scripts/demo`` runs this after ``scripts/setup``. It starts Mosquitto and InfluxDB 1.6
(hub/devstack.py) on free loopback ports, ``citylab serve`` against them (v1 API,
database "citylab", with the HTTP API when the hub has one), backfills seven days for
every lab, then simulates live. Every child process is stopped on the way out.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

import httpx
from rich.console import Console

from hub.api.paths import API_PREFIX
from hub.devstack import DevStackError, free_port, local_stack
from hub.labs import LabConfig, LabConfigError, load_labs
from simulators.faults import FAULT_KINDS, Faults
from simulators.fleet import build_fleet
from simulators.progress import PLAIN_EVERY_S, ProgressDisplay
from simulators.publisher import PublishError, publish

_NS_PER_S = 1_000_000_000
_DAY_NS = 86400 * _NS_PER_S
DEMO_MARKER = ".citylab-demo"
_MESSAGES_TOTAL = re.compile(r"^citylab_messages_total(?:\{[^}]*\})? ([0-9.e+]+)$", re.MULTILINE)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="scripts/demo", description=__doc__.split("\n\n")[0] if __doc__ else "")
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=Path("var/demo"),
        help="where the demo's broker, database and hub keep their files (an earlier demo's are emptied at start)",
    )
    parser.add_argument("--labs", type=Path, default=Path("labs"), help="labs directory (default labs)")
    parser.add_argument("--days", type=float, default=7.0, help="days of history to backfill (default 7)")
    parser.add_argument(
        "--backfill-interval",
        type=float,
        default=900.0,
        help="mean seconds between a device's historic reports (default 900)",
    )
    parser.add_argument(
        "--live-interval",
        type=float,
        default=30.0,
        help="mean seconds between a device's live reports (default 30, so dashboards move)",
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="random seed: the same seed gives the same data (default 0)"
    )
    parser.add_argument(
        "--faults",
        default="",
        help=f"fault kinds for the live phase, comma-separated, or 'all': {', '.join(FAULT_KINDS)} (default: none)",
    )
    parser.add_argument(
        "--port",
        type=_port,
        default=None,
        help="the port of the hub's page and HTTP API on 127.0.0.1 (default: a free port)",
    )
    return parser


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"port {port} is not between 1 and 65535")
    return port


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    # soft_wrap: a log file or pipe gets whole lines, so URLs and commands stay copyable.
    console = Console(stderr=True, soft_wrap=True)
    stop = threading.Event()

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)

    try:
        labs = load_labs(args.labs)
    except LabConfigError as exc:
        console.print(f"[red]error[/]: {exc}")
        return 2
    marker = args.data_dir / DEMO_MARKER
    if args.data_dir.exists() and any(args.data_dir.iterdir()):
        if not marker.exists():
            # Only ever empty a directory an earlier demo made: never someone's own files.
            console.print(
                f"[red]error[/]: {args.data_dir} is not empty and was not made by the demo; choose another --data-dir"
            )
            return 2
        shutil.rmtree(args.data_dir)
    args.data_dir.mkdir(parents=True, exist_ok=True)
    marker.write_text("made by scripts/demo; emptied at every demo start\n")
    try:
        with (
            local_stack(args.data_dir.resolve()) as (broker, influx),
            _hub(args, broker.url, influx.url, console) as api_url,
        ):
            return _run(args, labs, broker.url, influx.url, api_url, console, stop)
    except (DevStackError, PublishError, RuntimeError, ValueError) as exc:
        console.print(f"[red]error[/]: {exc}")
        return 1


@contextlib.contextmanager
def _hub(args: argparse.Namespace, mqtt_url: str, influx_url: str, console: Console) -> Iterator[str | None]:
    """``citylab serve`` as a child in its own session, so Ctrl-C reaches us first and we stop it in order."""
    api_port = (args.port or free_port()) if importlib.util.find_spec("hub.api") is not None else None
    env = {
        **os.environ,
        "CITYLAB_MQTT_URL": mqtt_url,
        "CITYLAB_MQTT_CLIENT_ID": "citylab-demo",
        "CITYLAB_INFLUX_URL": influx_url,
        "CITYLAB_INFLUX_API": "v1",
        "CITYLAB_INFLUX_BUCKET": "citylab",
        "CITYLAB_LABS": str(args.labs.resolve()),
        "CITYLAB_DATA_DIR": str((args.data_dir / "hub").resolve()),
    }
    if api_port is not None:
        env["CITYLAB_API_PORT"] = str(api_port)
    log_path = args.data_dir / "hub.log"
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "hub.cli", "serve"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log,
            start_new_session=True,
        )
    try:
        _wait_for_log(process, log_path, "subscribed to", 30)
        api_url = f"http://127.0.0.1:{api_port}" if api_port is not None else None
        if api_url is not None and not _wait_for_http(f"{api_url}/health", 15):
            console.print("[yellow]the HTTP API did not answer; see the hub log[/]")
            api_url = None
        if api_url is not None:
            # First, so a person can open the page at once and watch it fill.
            console.print(f"[bold green]The hub's page:[/] {api_url}/  (it fills while the history loads)")
        yield api_url
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)  # the hub flushes and acks before it exits
            try:
                process.wait(40)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)


def _run(
    args: argparse.Namespace,
    labs: dict[str, LabConfig],
    mqtt_url: str,
    influx_url: str,
    api_url: str | None,
    console: Console,
    stop: threading.Event,
) -> int:
    fleet = build_fleet(labs, seed=args.seed)
    for skipped in fleet.skipped:
        console.print(f"[yellow]not simulated[/]: {skipped.lab}: {skipped.reason}")
    cities = sorted({d.lab.city for d in fleet.devices})
    # Devices as the hub stores (and /devices lists) them: a SensorThings thing's datastreams are one device.
    devices = len(fleet.stored_devices)
    streams = f" ({len(fleet.devices)} data streams)" if len(fleet.devices) != devices else ""
    console.print(
        f"[bold]{devices} devices[/]{streams} in {len(fleet.labs)} labs, {len(cities)} cities: {', '.join(cities)}"
    )

    now_ns = time.time_ns()
    start_ns = now_ns - round(args.days * _DAY_NS)
    estimate = len(fleet.devices) * (now_ns - start_ns) // round(args.backfill_interval * _NS_PER_S)
    with ProgressDisplay(f"backfill {args.days:g} days", total=estimate, console=console) as display:
        report = publish(
            fleet.backfill(start_ns, now_ns, interval_s=args.backfill_interval),
            mqtt_url,
            on_progress=display.update,
            stop=stop,
            client_id="citylab-demo-backfill",
        )
    console.print(
        f"backfill: {report.acked} messages acknowledged, {report.errors} errors, "
        f"{report.elapsed_s:.0f}s ({report.rate:.0f} msg/s)"
    )
    if stop.is_set():
        return 0
    if api_url is not None:
        # The broker has them all; "full of data" only once the hub has taken them in too.
        _wait_for_ingest(api_url, report.acked, stop, console)

    _where_to_look(console, mqtt_url, influx_url, api_url, args.data_dir)
    live_fleet = build_fleet(labs, seed=args.seed + 1, faults=Faults.parse(args.faults))
    console.print(f"Simulating live until Ctrl-C: progress every {PLAIN_EVERY_S:.0f}s when not on a terminal.\n")
    with ProgressDisplay("live", total=None, console=console) as display:
        report = publish(
            live_fleet.live(time.time_ns(), interval_s=args.live_interval),
            mqtt_url,
            pace=True,
            on_progress=display.update,
            stop=stop,
            client_id="citylab-demo-live",
        )
    console.print(f"live: {report.acked} messages acknowledged, {report.errors} errors; stopping")
    return 0


def _where_to_look(console: Console, mqtt_url: str, influx_url: str, api_url: str | None, data_dir: Path) -> None:
    if api_url is not None:
        console.print(f"\n[bold green]The hub is full of data.[/] Open its page: {api_url}/")
        console.print("Also:")
        console.print(f"  HTTP API: {api_url}{API_PREFIX}  (OpenAPI docs at {api_url}/docs)")
        console.print(f"    e.g. curl '{api_url}{API_PREFIX}/compare?quantity=pm25&cities=bergen,oslo&every=1h'")
    else:
        console.print("\n[bold green]The hub is full of data.[/] Where to look:")
    console.print(f"  InfluxDB (v1 API, database citylab): {influx_url}")
    console.print(
        f"    e.g. curl -G {influx_url}/query --data-urlencode db=citylab "
        "--data-urlencode 'q=SELECT mean(value) FROM pm25 WHERE time > now() - 1d GROUP BY city'"
    )
    console.print(f"  MQTT broker: {mqtt_url}")
    console.print(f"  Hub log and dead letters: {data_dir}/hub.log, {data_dir}/hub/deadletters.sqlite3")
    console.print("  Grafana dashboards come with Docker: docker compose up (see README)")


def _wait_for_log(process: subprocess.Popen[bytes], log_path: Path, text: str, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if text in log_path.read_text(errors="replace"):
            return
        if process.poll() is not None:
            raise RuntimeError(
                f"citylab serve exited with {process.returncode}: {log_path.read_text(errors='replace')[-2000:]}"
            )
        time.sleep(0.1)
    raise RuntimeError(f"citylab serve did not connect in {timeout_s:.0f}s; see {log_path}")


def _hub_messages(api_url: str) -> float | None:
    """Messages the hub has handled so far, from its /metrics (None when it can't be read)."""
    with contextlib.suppress(httpx.HTTPError):
        text = httpx.get(f"{api_url}/metrics", timeout=5).text
        return sum(float(match) for match in _MESSAGES_TOTAL.findall(text))
    return None


def _wait_for_ingest(
    api_url: str, expected: int, stop: threading.Event, console: Console, timeout_s: float = 180
) -> None:
    deadline = time.monotonic() + timeout_s
    handled = _hub_messages(api_url)
    while handled is not None and handled < expected and time.monotonic() < deadline and not stop.is_set():
        stop.wait(0.5)
        handled = _hub_messages(api_url)
    if handled is not None and handled < expected:
        console.print(f"[yellow]the hub has handled {handled:.0f} of {expected} messages so far; it goes on[/]")


def _wait_for_http(url: str, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=1).status_code < 500:
                return True
        time.sleep(0.2)
    return False


if __name__ == "__main__":
    sys.exit(main())
