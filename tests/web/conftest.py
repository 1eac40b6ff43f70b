"""A hub filled by the simulators, once per session, and a real Chromium (Debian's) driven by Playwright.

The hub is the real ``citylab serve`` with its HTTP API, on a broker of its own (other tests
publish to the shared one) and a database of its own in the shared InfluxDB. Two days of every
city's simulated devices go through the real path: MQTT, codecs, normaliser, InfluxDB.
Chromium is Debian's package, launched through ``executable_path``; nothing downloads a browser.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, Request, Route, sync_playwright

from hub.devstack import InfluxDB1, Mosquitto, free_port
from hub.labs import load_labs
from hub.store.influxql import InfluxQLClient
from simulators import build_fleet, publish
from tests.conftest import LABS_DIR
from tests.support.hub_process import HubProcess

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
# Without the background-networking flags Chromium tries to reach Google's hosts at start.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Screenshots and measurements of every run (build/ is not tracked); a few are copied to docs/.
ARTIFACTS = ROOT / "build" / "test-artifacts" / "web"
FILL_DAYS = 2
FILL_INTERVAL_S = 1800.0
NS_PER_S = 1_000_000_000


@dataclass
class FilledHub:
    url: str
    database: str
    influx: InfluxQLClient
    messages: int


def _metric_total(text: str, name: str) -> float:
    return sum(float(m.group(1)) for m in re.finditer(rf"^{name}(?:{{[^}}]*}})? ([0-9.e+]+)$", text, re.MULTILINE))


def _wait_until_ingested(url: str, client: InfluxQLClient, messages: int, timeout_s: float = 120.0) -> None:
    """Every published message counted by the hub, its queue empty, and the stored points no longer growing."""
    deadline = time.monotonic() + timeout_s
    last = -1
    while time.monotonic() < deadline:
        metrics = httpx.get(f"{url}/metrics", timeout=10).text
        if (
            _metric_total(metrics, "citylab_messages_total") >= messages
            and _metric_total(metrics, "citylab_queue_depth") == 0
        ):
            stored = sum(int(row[1]) for s in client.query('SELECT count("value") FROM /.*/') for row in s.values)
            if stored == last:
                return
            last = stored
        time.sleep(0.5)
    raise AssertionError(f"the hub did not ingest {messages} messages in {timeout_s:.0f}s")


@pytest.fixture(scope="session")
def filled_hub(influx: InfluxDB1, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FilledHub]:
    base = tmp_path_factory.mktemp("web-hub")
    broker = Mosquitto(free_port(), base / "mosquitto")
    broker.start()
    database = f"web_{uuid.uuid4().hex[:12]}"
    influx.create_database(database)
    port = free_port()
    hub = HubProcess(
        env={
            "CITYLAB_MQTT_URL": broker.url,
            "CITYLAB_MQTT_CLIENT_ID": f"citylab-web-{uuid.uuid4().hex[:8]}",
            "CITYLAB_INFLUX_URL": influx.url,
            "CITYLAB_INFLUX_API": "v1",
            "CITYLAB_INFLUX_BUCKET": database,
            "CITYLAB_LABS": str(LABS_DIR),
            "CITYLAB_DATA_DIR": str(base / "data"),
            "CITYLAB_BATCH_LINGER_MS": "50",
            "CITYLAB_API_PORT": str(port),
        },
        log_path=base / "hub.log",
    )
    client = InfluxQLClient(influx.url, database)
    try:
        hub.start()
        hub.wait_for_log("API listening on")
        url = f"http://127.0.0.1:{port}"
        fleet = build_fleet(load_labs(LABS_DIR), seed=12)
        end_ns = time.time_ns()
        report = publish(
            fleet.backfill(end_ns - FILL_DAYS * 86400 * NS_PER_S, end_ns, interval_s=FILL_INTERVAL_S), broker.url
        )
        assert report.errors == 0 and report.acked == report.sent > 0
        _wait_until_ingested(url, client, report.acked)
        yield FilledHub(url, database, client, report.acked)
    finally:
        client.close()
        exit_code = hub.terminate()
        broker.stop()
    assert exit_code == 0


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: scripts/setup installs Debian's chromium (apt-get install chromium)")
    with sync_playwright() as playwright:
        # Playwright gives every launch a fresh, temporary user-data-dir of its own.
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        yield launched
        launched.close()


@dataclass
class Visit:
    """A browser context on the hub that records console errors and blocks (and notes) any other host."""

    context: BrowserContext
    page: Page
    origin: str
    console_errors: list[str] = field(default_factory=list)
    foreign: list[str] = field(default_factory=list)

    def open(self, path: str) -> Page:
        self.page.goto(self.origin + path, wait_until="networkidle")
        return self.page

    def assert_clean(self) -> None:
        assert not self.foreign, f"requests left the hub: {self.foreign}"
        assert not self.console_errors, f"console errors: {self.console_errors}"

    def screenshot(self, name: str, top_height: int = 1400) -> Path:
        """The whole page, and its top (what docs/ shows) as ``<name>-top.png``."""
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        width = self.page.viewport_size["width"] if self.page.viewport_size else 1280
        height = min(top_height, int(self.page.evaluate("document.scrollingElement.scrollHeight")))
        clip = {"x": 0, "y": 0, "width": width, "height": height}
        self.page.screenshot(path=str(ARTIFACTS / f"{name}-top.png"), clip=clip)  # type: ignore[arg-type]
        return path


@pytest.fixture
def visit(browser: Browser, filled_hub: FilledHub) -> Iterator[object]:
    contexts: list[BrowserContext] = []

    def start(*, width: int = 1280, height: int = 900, locale: str = "en-GB", **options: object) -> Visit:
        context = browser.new_context(
            base_url=filled_hub.url,
            viewport={"width": width, "height": height},
            locale=locale,
            service_workers="block",
            **options,  # type: ignore[arg-type]
        )
        contexts.append(context)
        page = context.new_page()
        origin = filled_hub.url
        visit = Visit(context, page, origin)
        host = urlsplit(origin).netloc

        def guard(route: Route, request: Request) -> None:
            if urlsplit(request.url).netloc != host and not request.url.startswith(("data:", "blob:")):
                visit.foreign.append(request.url)
                route.abort()
            else:
                route.continue_()

        def on_console(message: ConsoleMessage) -> None:
            if message.type == "error":
                visit.console_errors.append(f"{message.text} ({message.location.get('url', '')})")

        context.route("**/*", guard)
        page.on("console", on_console)
        page.on("pageerror", lambda error: visit.console_errors.append(f"page error: {error}"))
        return visit

    yield start
    for context in contexts:
        context.close()


def write_artifact(name: str, data: dict[str, object]) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / name).write_text(json.dumps(data, indent=2) + "\n")
