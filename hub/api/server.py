"""Running the API under uvicorn: in the foreground (``citylab api``) or beside ingest (``citylab serve``)."""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable
from types import FrameType

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
        self.reload_labs = lab_reloader(app)
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


def lab_reloader(app: FastAPI) -> Callable[[], None]:
    """What SIGHUP does for this app: re-read its lab configs, in a thread of its own.

    Not in the signal handler itself: the main thread may be inside the catalog (holding its lock)
    when the signal arrives."""

    def reload() -> None:
        log.info("SIGHUP: reloading the lab configs")
        threading.Thread(target=app.state.api.labs.reload, name="labs-reload", daemon=True).start()

    return reload


def reload_on_sighup(action: Callable[[], None]) -> None:
    """Run ``action`` on SIGHUP (call from the main thread) instead of dying, SIGHUP's default."""

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        action()

    signal.signal(signal.SIGHUP, on_signal)
