"""Node-RED 4 with node-red-contrib-influxdb: the alternative users actually compare with.

Installed from npm into ``.cache/benchmarks/node-red`` (gitignored, reused between runs) when
``node`` and ``npm`` exist; the phase is skipped with a note otherwise. The flow is what a
Node-RED user builds for TTN uplinks: one ``mqtt in`` node per topic filter (QoS 1, parsed
JSON, a persistent session like the hub's, so it drains the same queued backlog), a function
node turning ``uplink_message.decoded_payload`` into one point per numeric key (measurement =
key, tags device and application, field ``value``, time = ``received_at``), and an
``influxdb batch`` node writing them to the same InfluxDB over the 1.x API. Node-RED runs
headless: no editor, no admin API, no HTTP nodes.

Two flows, each its own phase:

- **per message** (issue 13's flow): the function's points go straight to ``influxdb batch``,
  which writes each message's points in a request of its own, all of them at once: on a
  backlog, thousands of concurrent requests;
- **batched like the hub**: a ``join`` node gathers up to ``batch_messages`` messages (or what
  arrived within ``batch_timeout_s`` of the first), a function flattens their points, and
  ``influxdb batch`` writes them in one request: the hub's 5,000 lines / 100 ms in Node-RED terms.

Node-RED acks each MQTT message when it arrives (mqtt.js), before anything is written: what
it has not written when it stops or fails is gone. The count in InfluxDB says what arrived.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import orjson

from benchmarks.mix import ROOT, MixMessage

CACHE_DIR = ROOT / ".cache" / "benchmarks" / "node-red"
PACKAGES = ("node-red@4", "node-red-contrib-influxdb")
MIN_NODE_MAJOR = 18  # Node-RED 4 needs Node.js 18 or later

# The function node: a TTN v3 uplink's decoded payload as points, one per numeric key.
# Decentlab-style decoders give {displayName, unit, value} objects: their value is the number.
FUNCTION_JS = """\
const up = msg.payload;
const ids = up.end_device_ids || {};
const decoded = (up.uplink_message || {}).decoded_payload || {};
const time = new Date(up.received_at);
const tags = { device: ids.device_id, application: (ids.application_ids || {}).application_id };
// One point per numeric key: the hub's schema (measurement = quantity, field value).
const points = [];
for (const [key, raw] of Object.entries(decoded)) {
    const value = (raw !== null && typeof raw === "object") ? raw.value : raw;
    if (typeof value === "number" && Number.isFinite(value)) {
        points.push({ measurement: key, tags: tags, fields: { value: value }, timestamp: time });
    }
}
msg.payload = points;
return points.length ? msg : null;
"""

SETTINGS_JS = """\
// Written by benchmarks/nodered.py: Node-RED headless, for one benchmark run.
module.exports = {{
    flowFile: "flow.json",
    credentialSecret: false,
    uiHost: "127.0.0.1",
    uiPort: {ui_port},
    httpAdminRoot: false,
    httpNodeRoot: false,
    disableEditor: true,
    logging: {{ console: {{ level: "warn", metrics: false, audit: false }} }},
    editorTheme: {{ projects: {{ enabled: false }} }},
    diagnostics: {{ enabled: false }},
    telemetry: {{ enabled: false }},
    runtimeState: {{ enabled: false }},
    externalModules: {{ autoInstall: false, palette: {{ allowInstall: false }} }},
}};
"""


def unavailable_reason() -> str | None:
    """Why Node-RED can't run here (no node or npm, or too old a node), or None."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        return "skipped: node and npm are not installed (Debian: apt-get install nodejs npm)"
    try:
        version = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=20, check=True).stdout
        major = int(version.strip().lstrip("v").split(".")[0])
    except (OSError, ValueError, subprocess.SubprocessError) as exc:
        return f"skipped: could not ask node for its version: {exc}"
    if major < MIN_NODE_MAJOR:
        return f"skipped: Node-RED 4 needs Node.js {MIN_NODE_MAJOR}+, this is {version.strip()}"
    return None


def _installed_version(cache_dir: Path, package: str) -> str | None:
    manifest = cache_dir / "node_modules" / package / "package.json"
    if not manifest.exists():
        return None
    version = json.loads(manifest.read_text()).get("version")
    return str(version) if version else None


def install(cache_dir: Path = CACHE_DIR) -> dict[str, str]:
    """Install Node-RED 4 and node-red-contrib-influxdb from npm unless the cache has them; their versions."""
    red = _installed_version(cache_dir, "node-red")
    if red is None or not red.startswith("4.") or _installed_version(cache_dir, "node-red-contrib-influxdb") is None:
        cache_dir.mkdir(parents=True, exist_ok=True)
        manifest = cache_dir / "package.json"
        if not manifest.exists():
            manifest.write_text(json.dumps({"name": "citylab-benchmark-node-red", "private": True}) + "\n")
        done = subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund", "--loglevel=error", *PACKAGES],
            cwd=cache_dir,
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"npm install {' '.join(PACKAGES)} failed: {(done.stderr or done.stdout)[-1500:]}")
    versions = {
        "node-red": _installed_version(cache_dir, "node-red") or "?",
        "node-red-contrib-influxdb": _installed_version(cache_dir, "node-red-contrib-influxdb") or "?",
    }
    node = subprocess.run(["node", "--version"], capture_output=True, text=True, timeout=20, check=False)
    versions["node"] = node.stdout.strip()
    return versions


@dataclass(frozen=True, slots=True)
class NodeRedFlow:
    broker_port: int
    influx_port: int
    database: str
    client_id: str
    topic_filters: tuple[str, ...]
    ui_port: int
    batch_messages: int = 0  # 0: each message's points are written on their own
    batch_timeout_s: float = 0.1

    def nodes(self) -> list[dict[str, object]]:
        tab = "bench-tab"
        flow: list[dict[str, object]] = [
            {"id": tab, "type": "tab", "label": "citylab benchmark", "disabled": False},
            {
                "id": "bench-broker",
                "type": "mqtt-broker",
                "name": "benchmark broker",
                "broker": "127.0.0.1",
                "port": str(self.broker_port),
                "clientid": self.client_id,
                "autoConnect": True,
                "usetls": False,
                "protocolVersion": "4",
                "keepalive": "60",
                # A persistent session, as the hub's: the broker queues the backlog for it while it is down.
                "cleansession": False,
                # Node-RED 3.1+ unsubscribes on stop by default, which would end the session's queue.
                "autoUnsubscribe": False,
                "birthTopic": "",
                "closeTopic": "",
                "willTopic": "",
            },
            {
                "id": "bench-points",
                "type": "function",
                "z": tab,
                "name": "TTN uplink to points",
                "func": FUNCTION_JS,
                "outputs": 1,
                "wires": [["bench-join" if self.batch_messages else "bench-write"]],
            },
            {
                "id": "bench-influx",
                "type": "influxdb",
                "hostname": "127.0.0.1",
                "port": str(self.influx_port),
                "protocol": "http",
                "database": self.database,
                "name": "benchmark InfluxDB",
                "usetls": False,
                "tls": "",
                "influxdbVersion": "1.x",
            },
            {
                "id": "bench-write",
                "type": "influxdb batch",
                "z": tab,
                "influxdb": "bench-influx",
                "precision": "",
                "retentionPolicy": "",
                "name": "write points",
                "wires": [],
            },
        ]
        if self.batch_messages:
            flow += [
                {
                    "id": "bench-join",
                    "type": "join",
                    "z": tab,
                    "name": f"up to {self.batch_messages} messages or {self.batch_timeout_s:g} s",
                    "mode": "custom",
                    "build": "array",
                    "property": "payload",
                    "propertyType": "msg",
                    "key": "topic",
                    "joiner": "\\n",
                    "joinerType": "str",
                    "useparts": False,
                    "accumulate": False,
                    "timeout": f"{self.batch_timeout_s:g}",
                    "count": str(self.batch_messages),
                    "reduceRight": False,
                    "wires": [["bench-flatten"]],
                },
                {
                    "id": "bench-flatten",
                    "type": "function",
                    "z": tab,
                    "name": "one array of points",
                    "func": "msg.payload = msg.payload.flat();\nreturn msg;\n",
                    "outputs": 1,
                    "wires": [["bench-write"]],
                },
            ]
        for index, topic in enumerate(self.topic_filters):
            flow.append(
                {
                    "id": f"bench-in-{index}",
                    "type": "mqtt in",
                    "z": tab,
                    "name": "",
                    "topic": topic,
                    "qos": "1",
                    "datatype": "json",
                    "broker": "bench-broker",
                    "nl": False,
                    "rap": True,
                    "rh": 0,
                    "inputs": 0,
                    "wires": [["bench-points"]],
                }
            )
        return flow

    def write(self, user_dir: Path) -> None:
        user_dir.mkdir(parents=True, exist_ok=True)
        (user_dir / "flow.json").write_text(json.dumps(self.nodes(), indent=2) + "\n")
        (user_dir / "settings.js").write_text(SETTINGS_JS.format(ui_port=self.ui_port))


def flow_description(batch_messages: int, batch_timeout_s: float = 0.1) -> str:
    if not batch_messages:
        return "mqtt in (QoS 1) -> function (points) -> influxdb batch: one write per message"
    return (
        f"mqtt in (QoS 1) -> function (points) -> join ({batch_messages} messages or {batch_timeout_s:g} s) -> "
        "function (flatten) -> influxdb batch: one write per batch"
    )


def command(user_dir: Path, cache_dir: Path = CACHE_DIR) -> list[str]:
    red = cache_dir / "node_modules" / "node-red" / "red.js"
    return ["node", str(red), "--settings", str(user_dir / "settings.js"), "--userDir", str(user_dir), "flow.json"]


def expected_points(messages: list[MixMessage]) -> tuple[int, list[str]]:
    """What the flow must write for these messages: distinct (key, device, time) points, and the measurements.

    The same rules as FUNCTION_JS, in Python: every numeric key of ``decoded_payload``.
    """
    points: set[tuple[str, str, str, int]] = set()
    for item in messages:
        uplink = orjson.loads(item.message.payload)
        ids = uplink.get("end_device_ids", {})
        decoded = uplink.get("uplink_message", {}).get("decoded_payload", {})
        stamp = datetime.fromisoformat(uplink["received_at"].replace("Z", "+00:00"))
        time_ms = round(stamp.timestamp() * 1000)  # a JavaScript Date holds milliseconds
        device = str(ids.get("device_id"))
        application = str(ids.get("application_ids", {}).get("application_id"))
        for key, raw in decoded.items():
            value = raw.get("value") if isinstance(raw, dict) else raw
            if isinstance(value, int | float) and not isinstance(value, bool):
                points.add((key, device, application, time_ms))
    return len(points), sorted({key for key, _, _, _ in points})
