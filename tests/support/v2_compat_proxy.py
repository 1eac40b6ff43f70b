"""A test-only stand-in for InfluxDB 1.8's v2 write compatibility, in front of Debian's 1.6.

InfluxDB 1.8 documents ``/api/v2/write`` as a mapping onto ``/write``: the bucket is
``database/retention-policy`` and the token is ``username:password``. Debian ships 1.6,
which predates that endpoint, so CI exercises the hub's v2 write path
through this proxy: it does exactly that mapping and forwards to the real 1.6 server,
where the points land and are read back from. It only rewrites the request.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import httpx


class V2CompatProxy:
    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.requests = 0
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                parts = urlsplit(self.path)
                if parts.path != "/api/v2/write":
                    self._reply(404, b'{"code":"not found"}')
                    return
                proxy.requests += 1
                query = parse_qs(parts.query)
                bucket = query.get("bucket", [""])[0]
                database, _, retention = bucket.partition("/")
                params = {"db": database, "precision": query.get("precision", ["ns"])[0]}
                if retention:
                    params["rp"] = retention
                auth = self.headers.get("Authorization", "")
                if auth.startswith("Token "):
                    user, _, password = auth[len("Token ") :].partition(":")
                    if user:
                        params["u"], params["p"] = user, password
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                headers = {k: v for k, v in self.headers.items() if k.lower() in ("content-encoding", "content-type")}
                response = httpx.post(f"{proxy.upstream}/write", params=params, content=body, headers=headers)
                self._reply(response.status_code, response.content)

            def _reply(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> V2CompatProxy:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.shutdown()
        self._server.server_close()
