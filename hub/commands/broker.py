"""``citylab broker-acl``: print the Mosquitto ACL for the lab configs."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from hub.broker import DEFAULT_HUB_USER, mosquitto_acl, mosquitto_password_line
from hub.labs import LabConfigError, load_labs


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    register_acl(subparsers)
    register_passwd(subparsers)


def register_acl(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("broker-acl", help="print a Mosquitto acl_file that confines each lab to its topics")
    parser.add_argument("--labs", type=Path, default=Path("labs"), help="labs directory (default: labs)")
    parser.add_argument("--hub-user", default=DEFAULT_HUB_USER, help="MQTT user the hub subscribes as")
    parser.add_argument("--simulator-user", help="also let this user publish on every lab's topics (demo only)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    try:
        labs = load_labs(args.labs)
    except LabConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    sys.stdout.write(mosquitto_acl(labs, hub_user=args.hub_user, simulator_user=args.simulator_user))
    return 0


def register_passwd(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "broker-passwd", help="print Mosquitto password_file lines; passwords are read from environment variables"
    )
    parser.add_argument(
        "users",
        nargs="+",
        metavar="USER=ENV_VAR",
        help="MQTT user and the variable holding its password (never the password itself: argv is visible to ps)",
    )
    parser.set_defaults(handler=run_passwd)


def run_passwd(args: argparse.Namespace) -> int:
    lines = []
    for item in args.users:
        user, _, variable = item.partition("=")
        password = os.environ.get(variable) if variable else None
        if not user or not password:
            print(f"error: {item!r}: expected USER=ENV_VAR with the variable set and non-empty", file=sys.stderr)
            return 2
        lines.append(mosquitto_password_line(user, password))
    sys.stdout.write("\n".join(lines) + "\n")
    return 0
