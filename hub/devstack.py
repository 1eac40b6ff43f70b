"""A local Mosquitto and InfluxDB as child processes on free loopback ports, for the demo and tests.

Both come from Debian packages (``mosquitto``, ``influxdb``); ``scripts/test`` and
``scripts/demo`` install them when missing. Debian's InfluxDB is 1.6: the v1 API.
"""

from __future__ import annotations

import contextlib
import getpass
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx


class DevStackError(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _binary(name: str, package: str) -> str:
    found = shutil.which(name) or next(
        (str(p) for p in (Path("/usr/sbin") / name, Path("/usr/bin") / name) if p.exists()), None
    )
    if found is None:
        raise DevStackError(
            f"{name} not found: install the Debian package '{package}' (scripts/test does this when run as root)"
        )
    return found


def _wait_for(check: object, what: str, process: subprocess.Popen[bytes], log: Path, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise DevStackError(f"{what} exited with {process.returncode}: {log.read_text()[-2000:]}")
        if check():  # type: ignore[operator]
            return
        time.sleep(0.1)
    raise DevStackError(f"{what} did not become ready in {timeout_s:.0f}s: {log.read_text()[-2000:]}")


# How the test and demo broker saves its state: a snapshot every 30 s, which is fast, and loses
# up to 30 s of acknowledged messages if the broker is killed. The shipped broker config
# (deploy/mosquitto/mosquitto.conf) saves after every change instead; tests/faults runs the crash
# test with that one (``Mosquitto(persistence=...)``), and the README says what it costs.
DEV_PERSISTENCE = "autosave_interval 30"

# Deliberate queue limits: Mosquitto's default of 1000 queued messages per client
# silently drops QoS 1 messages for a subscriber that falls behind.
MOSQUITTO_CONF = """\
# Run as whoever started us: as root, Mosquitto would otherwise switch to the user
# "mosquitto", which can't read a private temp dir.
user {user}
listener {port} 127.0.0.1
allow_anonymous {anonymous}
{auth}
persistence true
persistence_location {data}/
{persistence}
max_inflight_messages 1000
max_queued_messages 0
max_queued_bytes 536870912
message_size_limit 1048576
log_dest file {data}/mosquitto.log
log_type error
log_type warning
log_type notice
"""

INFLUXDB_CONF = """\
reporting-disabled = true
bind-address = "127.0.0.1:{rpc_port}"

[meta]
  dir = "{data}/meta"

[data]
  dir = "{data}/data"
  wal-dir = "{data}/wal"
  query-log-enabled = false
  cache-max-memory-size = "512m"

[http]
  enabled = true
  bind-address = "127.0.0.1:{port}"
  log-enabled = false
  max-body-size = 0

[monitor]
  store-enabled = false

[continuous_queries]
  enabled = false
"""


@dataclass(frozen=True)
class BrokerTls:
    port: int
    ca_file: Path
    cert_file: Path
    key_file: Path


@dataclass
class Mosquitto:
    port: int
    data_dir: Path
    # mosquitto.conf lines on when to save the in-memory state (autosave_interval, autosave_on_changes).
    persistence: str = DEV_PERSISTENCE
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def start(
        self, *, password_file: Path | None = None, acl_file: Path | None = None, tls: BrokerTls | None = None
    ) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        auth = ""
        if tls is not None:
            # A second listener, for mqtts:// clients; the plain one stays for the tests' publishers.
            auth += (
                f"listener {tls.port} 127.0.0.1\ncafile {tls.ca_file}\n"
                f"certfile {tls.cert_file}\nkeyfile {tls.key_file}\n"
            )
        if password_file is not None:
            auth += f"password_file {password_file}\n"
        if acl_file is not None:
            auth += f"acl_file {acl_file}\n"
        conf = self.data_dir / "mosquitto.conf"
        conf.write_text(
            MOSQUITTO_CONF.format(
                user=getpass.getuser(),
                port=self.port,
                data=self.data_dir,
                auth=auth,
                anonymous="false" if password_file is not None else "true",
                persistence=self.persistence,
            )
        )
        log = self.data_dir / "mosquitto.log"
        log.touch()
        self.process = subprocess.Popen(
            [_binary("mosquitto", "mosquitto"), "-c", str(conf)],
            stdout=subprocess.DEVNULL,
            stderr=log.open("ab"),
        )
        _wait_for(lambda: _port_open(self.port), "mosquitto", self.process, log, 15)

    def reload(self) -> None:
        """SIGHUP: re-read the password and ACL files."""
        if self.process is not None:
            self.process.send_signal(1)

    def stop(self) -> None:
        _terminate(self.process)

    def kill(self) -> None:
        """SIGKILL: a crash, with no chance to save its state (for fault tests)."""
        _kill(self.process)


@dataclass
class InfluxDB1:
    port: int
    data_dir: Path
    database: str = "citylab"
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, *, create_database: bool = True) -> None:
        """Start, and (unless told not to) create the database once the server answers."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        conf = self.data_dir / "influxdb.conf"
        conf.write_text(INFLUXDB_CONF.format(port=self.port, rpc_port=free_port(), data=self.data_dir))
        log = self.data_dir / "influxd.log"
        self.process = subprocess.Popen(
            [_binary("influxd", "influxdb"), "run", "-config", str(conf)],
            stdout=log.open("ab"),
            stderr=subprocess.STDOUT,
        )
        _wait_for(self._pings, "influxd", self.process, log, 60)
        if create_database:
            self.create_database(self.database)

    def _pings(self) -> bool:
        try:
            return httpx.get(f"{self.url}/ping", timeout=1).status_code == 204
        except httpx.HTTPError:
            return False

    def create_database(self, name: str) -> None:
        response = httpx.post(f"{self.url}/query", data={"q": f'CREATE DATABASE "{name}"'}, timeout=10)
        response.raise_for_status()

    def stop(self) -> None:
        _terminate(self.process)

    def kill(self) -> None:
        """SIGKILL: a crash (for fault tests)."""
        _kill(self.process)

    def pause(self) -> None:
        """SIGSTOP: the server hangs; connections are accepted by the kernel, and nothing answers."""
        if self.process is not None:
            self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGCONT)


def _port_open(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
        return True
    return False


def _kill(process: subprocess.Popen[bytes] | None) -> None:
    if process is not None and process.poll() is None:
        process.kill()
        process.wait(10)


def _terminate(process: subprocess.Popen[bytes] | None) -> None:
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGCONT)  # a paused process can't act on SIGTERM
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)


@contextlib.contextmanager
def local_stack(base_dir: Path) -> Iterator[tuple[Mosquitto, InfluxDB1]]:
    broker = Mosquitto(free_port(), base_dir / "mosquitto")
    influx = InfluxDB1(free_port(), base_dir / "influxdb")
    try:
        broker.start()
        influx.start()
        yield broker, influx
    finally:
        broker.stop()
        influx.stop()
