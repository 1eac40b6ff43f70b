"""Running the API under uvicorn: in the foreground (``citylab api``) or beside ingest (``citylab serve``)."""

from __future__ import annotations

import logging
import threading
import time

import uvicorn
from fastapi import FastAPI

log = logging.getLogger(__name__)

DEFAULT_PORT = 8080


def uvicorn_config(app: FastAPI, host: str, port: int) -> uvicorn.Config:
    # log_config=None keeps the hub's own logging set-up (citylab --log-level).
    return uvicorn.Config(app, host=host, port=port, log_config=None, access_log=False, lifespan="on")


class BackgroundApi:
    """uvicorn in a thread of its own; signals stay with the main thread (the ingest service)."""

    def __init__(self, app: FastAPI, host: str, port: int) -> None:
        self.url = f"http://{host}:{port}"
        self._server = uvicorn.Server(uvicorn_config(app, host, port))
        self._thread = threading.Thread(target=self._server.run, name="api", daemon=True)

    def start(self, timeout_s: float = 15.0) -> None:
        self._thread.start()
        deadline = time.monotonic() + timeout_s
        while not self._server.started:
            if not self._thread.is_alive():
                raise RuntimeError(f"the API could not start on {self.url} (is the port in use?)")
            if time.monotonic() > deadline:
                raise RuntimeError(f"the API did not start on {self.url} within {timeout_s:.0f}s")
            time.sleep(0.05)
        log.info("API listening on %s", self.url)

    def stop(self, timeout_s: float = 10.0) -> None:
        self._server.should_exit = True
        self._thread.join(timeout_s)
