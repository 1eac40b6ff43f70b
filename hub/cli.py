"""The ``citylab`` command.

Subcommand modules load lazily: ``citylab --help`` lists every command from the table below
without importing any of them, and a run imports only the module of the command it runs, so
``citylab serve`` never loads the simulators, the dashboards or the web stack it doesn't use.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Command:
    name: str
    module: str  # has register(subparsers), which adds this command (and maybe its siblings)
    help: str


# Add a command here to add it to citylab; the help is what `citylab --help` shows (a test keeps it
# equal to the help the module registers).
COMMANDS = [
    Command("decode", "hub.commands.decode", "decode one payload into canonical readings (JSON lines)"),
    Command(
        "serve",
        "hub.commands.serve",
        "run the MQTT → InfluxDB ingest service (config: CITYLAB_* env); with CITYLAB_API_PORT also the HTTP API",
    ),
    Command("api", "hub.commands.api", "serve the HTTP API: labs, devices, readings, compare, dead letters"),
    Command("dashboards", "dashboards.command", "build or upload the Grafana dashboards"),
    Command("broker-acl", "hub.commands.broker", "print a Mosquitto acl_file that confines each lab to its topics"),
    Command(
        "broker-passwd",
        "hub.commands.broker",
        "print Mosquitto password_file lines; passwords are read from environment variables",
    ),
    Command(
        "simulate", "simulators.command", "simulate every lab's devices in its native format and publish them to MQTT"
    ),
    Command(
        "export",
        "hub.commands.export",
        "write daily CSV files per city and quantity and a DCAT-AP 3 catalogue (docs/interoperability.md)",
    ),
]


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser with every command listed; only ``command``'s module is imported and registered in full."""
    parser = argparse.ArgumentParser(prog="citylab", description="Nordic City Lab Hub")
    parser.add_argument("--log-level", default=os.environ.get("CITYLAB_LOG_LEVEL", "INFO"))
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    chosen = next((c.module for c in COMMANDS if c.name == command), None)
    registered = False
    for entry in COMMANDS:
        if entry.module != chosen:
            # A placeholder: listed with its help, never run (the full parser is built once it is chosen).
            subparsers.add_parser(entry.name, help=entry.help, add_help=False)
        elif not registered:
            importlib.import_module(entry.module).register(subparsers)
            registered = True
    return parser


def chosen_command(argv: list[str]) -> str | None:
    """The command named in ``argv``, without importing any command module."""
    known, _rest = build_parser().parse_known_args(argv)
    name: str | None = known.command
    return name


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser(chosen_command(argv)).parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    # One line per HTTP request to InfluxDB is noise, not news; failures are logged by the hub itself.
    logging.getLogger("httpx").setLevel(max(logging.WARNING, logging.getLogger().level))
    return int(args.handler(args))


if __name__ == "__main__":
    sys.exit(main())
