"""A tiny local HTTP server that answers InfluxDB write requests as told: a status and body, or silence.

It records every request (path, query, headers, gunzipped body), so a writer test sees exactly
what the writer sent, and can answer with each class of InfluxDB answer in turn.
"""

from __future__ import annotations

import gzip
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


@dataclass(frozen=True)
class Request:
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: str


@dataclass
class Reply:
    status: int = 204
    body: str = ""
    delay_s: float = 0.0  # answer only after this long (a timeout test)
    headers: dict[str, str] = field(default_factory=dict)


class AnsweringServer:
    def __init__(self) -> None:
        self.reply = Reply()
        self.requests: list[Request] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if self.headers.get("Content-Encoding") == "gzip":
                    raw = gzip.decompress(raw)
                parts = urlsplit(self.path)
                server.requests.append(
                    Request(parts.path, parse_qs(parts.query), dict(self.headers.items()), raw.decode("utf-8"))
                )
                reply = server.reply
                if reply.delay_s:
                    time.sleep(reply.delay_s)
                body = reply.body.encode()
                try:
                    self.send_response(reply.status)
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    if body:
                        self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the writer stopped waiting (a timeout test): nobody to answer

            def log_message(self, *_args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        # A short poll, so that shutting the server down after each test takes no half second.
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.02,), daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> AnsweringServer:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.shutdown()
        self._server.server_close()
