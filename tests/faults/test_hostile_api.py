"""A hostile client against the real ``citylab api`` process: huge and slow uploads, with and without a token.

The measure is the process itself: its peak resident memory (VmHWM) must not grow by anything like the
body's size, and refusals must come before the body is read (an unauthenticated 189 MB POST once took the
ingest process from 164 MB to 1.26 GB).
"""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from hub.devstack import InfluxDB1, free_port
from tests.conftest import LABS_DIR
from tests.support.hub_process import HubProcess
from tests.support.wait import wait_until

ADMIN, READ = "admin-Secret-77", "read-Secret-78"
HUGE = 189 * 1024 * 1024
CHUNK = b"x" * (1024 * 1024)
REPLAY = "/api/v1/deadletters/replay"


@pytest.fixture(scope="module")
def api_process(influx: InfluxDB1, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[HubProcess, int]]:
    tmp_path = tmp_path_factory.mktemp("hostile")
    database = f"hostile_{uuid.uuid4().hex[:8]}"
    influx.create_database(database)
    port = free_port()
    process = HubProcess(
        env={
            "CITYLAB_INFLUX_URL": influx.url,
            "CITYLAB_INFLUX_API": "v1",
            "CITYLAB_INFLUX_BUCKET": database,
            "CITYLAB_LABS": str(LABS_DIR),
            "CITYLAB_DATA_DIR": str(tmp_path / "data"),
            "CITYLAB_API_PORT": str(port),
            "CITYLAB_API_ADMIN_TOKEN": ADMIN,
            "CITYLAB_API_READ_TOKEN": READ,
        },
        log_path=tmp_path / "api.log",
        command="api",
    )
    process.start(wait_connected=False)
    wait_until(lambda: _answers(port), 20, "the API listening")
    # Warm up (imports, first request) so that what is measured is the upload alone.
    httpx.post(f"http://127.0.0.1:{port}{REPLAY}", json={"dry_run": True}, headers={"Authorization": f"Bearer {ADMIN}"})
    yield process, port
    process.terminate()


def _answers(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def peak_rss(process: HubProcess) -> int:
    """VmHWM: the process's peak resident set size so far, in bytes."""
    for row in Path(f"/proc/{process.pid}/status").read_text().splitlines():
        if row.startswith("VmHWM:"):
            return int(row.split()[1]) * 1024
    raise AssertionError("no VmHWM in /proc")


@dataclass
class Upload:
    status: int
    headers: dict[str, str]
    body: bytes
    sent_before_answer: int  # body bytes the client had sent when the answer arrived
    seconds: float


def upload(port: int, headers: dict[str, str], body: Iterator[bytes], *, chunked: bool) -> Upload:
    """POST to replay with a raw socket, sending ``body`` as fast as the server takes it, until it answers."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    head = f"POST {REPLAY} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
    head += "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    if chunked:
        head += "Transfer-Encoding: chunked\r\n"
    sock.sendall((head + "\r\n").encode())
    sent = 0
    answered = threading.Event()

    def send_body() -> None:
        nonlocal sent
        try:
            for piece in body:
                if answered.is_set():
                    return
                sock.sendall(f"{len(piece):x}\r\n".encode() + piece + b"\r\n" if chunked else piece)
                sent += len(piece)
        except OSError:
            return  # the server closed the connection: that is the point

    started = time.monotonic()
    sender = threading.Thread(target=send_body, daemon=True)
    sender.start()
    response = b""
    sock.settimeout(20)
    while b"\r\n\r\n" not in response:
        data = sock.recv(65536)
        assert data, "connection closed without an answer"
        response += data
    sent_before_answer = sent
    answered.set()
    elapsed = time.monotonic() - started
    header_block, _, rest = response.partition(b"\r\n\r\n")
    status_line, *header_lines = header_block.decode().split("\r\n")
    parsed = {name.lower(): value.strip() for name, _, value in (line.partition(":") for line in header_lines)}
    length = int(parsed.get("content-length", "0"))
    while len(rest) < length:
        data = sock.recv(65536)
        if not data:
            break
        rest += data
    sock.close()
    sender.join(0.5)  # a sender still trickling is a daemon thread: left to end on its own
    return Upload(int(status_line.split()[1]), parsed, rest[:length], sent_before_answer, elapsed)


def zeros(total: int) -> Iterator[bytes]:
    for _ in range(total // len(CHUNK)):
        yield CHUNK


def test_an_unauthenticated_huge_upload_is_refused_without_reading_it(api_process) -> None:
    process, port = api_process
    before = peak_rss(process)
    result = upload(port, {}, zeros(HUGE), chunked=True)
    assert result.status == 401
    assert result.headers["content-type"] == "application/problem+json"
    assert result.headers.get("connection") == "close"  # the rest of the upload is not read either
    assert result.sent_before_answer < 64 * 1024 * 1024  # answered long before the body could have been read
    assert peak_rss(process) - before < 30 * 1024 * 1024


def test_a_declared_huge_body_is_refused_before_a_byte_of_it_is_read(api_process) -> None:
    process, port = api_process
    before = peak_rss(process)
    headers = {"Authorization": f"Bearer {ADMIN}", "Content-Length": str(HUGE)}
    result = upload(port, headers, iter(()), chunked=False)  # not one body byte sent
    assert result.status == 413
    assert b"larger than the limit of 1048576 bytes" in result.body
    assert peak_rss(process) - before < 10 * 1024 * 1024


def test_an_authenticated_huge_upload_stops_at_the_limit(api_process) -> None:
    process, port = api_process
    before = peak_rss(process)
    result = upload(port, {"Authorization": f"Bearer {ADMIN}"}, zeros(HUGE), chunked=True)
    assert result.status == 413
    assert b"CITYLAB_API_MAX_BODY_BYTES" in result.body
    assert peak_rss(process) - before < 30 * 1024 * 1024


def test_a_slow_upload_gets_its_answer_before_its_body(api_process) -> None:
    """Tokens come before the body: a client that sends its headers and a trickle is refused at once."""
    _process, port = api_process

    def trickle() -> Iterator[bytes]:
        yield b'{"dr'
        time.sleep(10)  # never finishes within the test: the answer must not wait for it
        yield b'y_run": true}'

    result = upload(port, {"Content-Length": "17", "Authorization": f"Bearer {READ}"}, trickle(), chunked=False)
    assert result.status == 401  # the read token is not the admin token
    assert result.seconds < 2


def test_no_secret_in_the_api_log(api_process) -> None:
    process, port = api_process
    httpx.get(f"http://127.0.0.1:{port}/api/v1/labs", headers={"Authorization": f"Bearer {READ}"})
    httpx.post(f"http://127.0.0.1:{port}{REPLAY}", json={}, headers={"Authorization": "Bearer guess"})
    log = process.log()
    assert ADMIN not in log and READ not in log
    assert os.environ.get("CITYLAB_API_ADMIN_TOKEN") is None  # the test's tokens stayed in the child's env
