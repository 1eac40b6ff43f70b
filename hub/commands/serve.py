"""``citylab serve``: run the ingest service until SIGTERM."""

from __future__ import annotations

import argparse
import sys

from pydantic import ValidationError

from hub.labs import LabConfigError
from hub.settings import Settings


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("serve", help="run the MQTT → InfluxDB ingest service (config: CITYLAB_* env)")
    parser.set_defaults(handler=run)


def run(_args: argparse.Namespace) -> int:
    from hub.ingest.service import IngestService

    try:
        settings = Settings()
        service = IngestService(settings)
    except (LabConfigError, ValidationError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    service.run_forever()
    return 0
