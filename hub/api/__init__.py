"""The hub's HTTP API (FastAPI): labs, devices, readings, city comparisons, dead letters. See docs/api.md."""

from hub.api.main import create_app

__all__ = ["create_app"]
