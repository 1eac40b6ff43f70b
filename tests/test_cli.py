"""``citylab``: every command listed by --help, and only the chosen command's module imported."""

from __future__ import annotations

import argparse
import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from hub.cli import COMMANDS, build_parser, chosen_command

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("simulators", "dashboards", "grafana_foundation_sdk", "grafana_client", "fastapi", "uvicorn", "rich")


def citylab(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hub.cli", *args], capture_output=True, text=True, cwd=ROOT, timeout=60, check=False
    )


def test_help_lists_every_command():
    done = citylab("--help")
    assert done.returncode == 0
    for command in COMMANDS:
        assert command.name in done.stdout


def test_the_listed_help_is_what_each_module_registers():
    subparsers = argparse.ArgumentParser().add_subparsers()
    for module in sorted({command.module for command in COMMANDS}):
        importlib.import_module(module).register(subparsers)
    registered = {action.dest: action.help for action in subparsers._choices_actions}
    assert registered == {command.name: command.help for command in COMMANDS}


def heavy_modules_loaded_for(argv: list[str]) -> list[str]:
    script = (
        "import json, sys\n"
        "from hub.cli import build_parser, chosen_command\n"
        f"build_parser(chosen_command({argv!r})).parse_args({argv!r})\n"
        f"print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r})))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, check=True)
    loaded: list[str] = json.loads(done.stdout)
    return loaded


@pytest.mark.parametrize("argv", [["serve"], ["decode", "--format", "json"], ["broker-acl"], ["api"]])
def test_production_commands_load_no_simulators_dashboards_or_web_stack(argv):
    assert heavy_modules_loaded_for(argv) == []


def test_the_chosen_command_is_registered_in_full():
    assert heavy_modules_loaded_for(["dashboards", "build"])[0] == "dashboards"
    args = build_parser("broker-passwd").parse_args(["broker-passwd", "hub=HUB_PASSWORD"])
    assert args.users == ["hub=HUB_PASSWORD"]
    assert chosen_command(["--log-level", "DEBUG", "simulate", "live", "--seed", "1"]) == "simulate"


def test_a_subcommand_shows_its_own_help_and_an_unknown_one_is_refused():
    done = citylab("decode", "--help")
    assert (done.returncode, "--format" in done.stdout) == (0, True)
    unknown = citylab("nonsense")
    assert unknown.returncode == 2
    assert "invalid choice: 'nonsense'" in unknown.stderr
