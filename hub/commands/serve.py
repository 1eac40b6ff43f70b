"""``citylab serve``: run the ingest service until SIGTERM."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from pydantic import ValidationError

from hub.labs import LabConfigError
from hub.settings import Settings

if TYPE_CHECKING:
    from hub.api.server import BackgroundApi
    from hub.ingest.service import IngestService


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "serve",
        help="run the MQTT → InfluxDB ingest service (config: CITYLAB_* env); with CITYLAB_API_PORT also the HTTP API",
    )
    parser.set_defaults(handler=run)


def run(_args: argparse.Namespace) -> int:
    from hub.ingest.service import IngestService
    from hub.redaction import install_secret_scrubber

    try:
        settings = Settings()
        install_secret_scrubber(settings.secret_values())
        service = IngestService(settings)
    except (LabConfigError, ValidationError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    api = _start_api(settings, service)
    if api is None and settings.api_port is not None:
        return 2
    try:
        service.run_forever(on_sighup=api.reload_labs if api is not None else None)
    finally:
        if api is not None:
            api.stop()
    return 0


def _start_api(settings: Settings, service: IngestService) -> BackgroundApi | None:
    """Host the API in this process, so /metrics and /ready see the ingest service itself."""
    if settings.api_port is None:
        return None
    from hub.api.main import create_app
    from hub.api.server import BackgroundApi

    api = BackgroundApi(create_app(settings, ingest=service), settings.api_host, settings.api_port)
    try:
        api.start()
    except RuntimeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return None
    return api
