"""The ``citylab`` command."""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys

# Each module registers its own subcommand; add a module here to add a command.
COMMAND_MODULES = [
    "hub.commands.decode",
    "hub.commands.serve",
    "hub.commands.api",
    "dashboards.command",
    "hub.commands.broker",
    "hub.commands.export",
    "simulators.command",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="citylab", description="Nordic City Lab Hub")
    parser.add_argument("--log-level", default=os.environ.get("CITYLAB_LOG_LEVEL", "INFO"))
    subparsers = parser.add_subparsers(dest="command", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    # One line per HTTP request to InfluxDB is noise, not news; failures are logged by the hub itself.
    logging.getLogger("httpx").setLevel(max(logging.WARNING, logging.getLogger().level))
    return int(args.handler(args))


if __name__ == "__main__":
    sys.exit(main())
