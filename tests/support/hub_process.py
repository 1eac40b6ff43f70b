"""Run the real ``citylab serve`` as a child process, as an operator would."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class HubProcess:
    env: dict[str, str]
    log_path: Path
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    command: str = "serve"  # or "api"
    args: list[str] = field(default_factory=list)  # e.g. ["--workers", "2"]

    def start(self, *, wait_connected: bool = True, timeout_s: float = 20.0) -> HubProcess:
        full_env = {**os.environ, **self.env}
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "hub.cli", self.command, *self.args],
            env=full_env,
            stdout=subprocess.DEVNULL,
            stderr=self.log_path.open("ab"),
        )
        if wait_connected:
            self.wait_for_log("subscribed to", timeout_s)
        return self

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def rss_bytes(self) -> int:
        """The process's resident set size now (Linux /proc)."""
        for row in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if row.startswith("VmRSS:"):
                return int(row.split()[1]) * 1024
        raise AssertionError("no VmRSS in /proc")

    def signal(self, signum: int) -> None:
        assert self.process is not None
        self.process.send_signal(signum)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def wait_for_log(self, text: str, timeout_s: float = 20.0, occurrences: int = 1) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.log().count(text) >= occurrences:
                return
            if self.process is not None and self.process.poll() is not None:
                raise AssertionError(f"citylab serve exited {self.process.returncode}:\n{self.log()[-3000:]}")
            time.sleep(0.05)
        raise AssertionError(f"timed out waiting for {text!r} in the hub log:\n{self.log()[-3000:]}")

    def terminate(self, timeout_s: float = 40.0) -> int:
        if self.process is None:
            return 0
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)
            raise AssertionError(f"citylab serve ignored SIGTERM:\n{self.log()[-3000:]}") from None
