"""``citylab labs``: what the hub makes of each lab's devices.

- ``citylab labs unmapped [--lab L]``: the keys ingest saw but could not map, and those it read only by a
  guess, per lab and device model, each with its count, a sample value, when it was last seen, and a
  snippet to paste into the lab's YAML (hub/read/unmapped.py);
- ``citylab labs profiles [--vendor V]``: the device profiles the hub ships, and the models and device
  profile names each answers to.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import orjson

from core.timeutil import ns_to_rfc3339
from hub.labs import LabConfigError, load_labs
from hub.read.unmapped import UnmappedEntry, UnmappedReport, unmapped_report
from hub.resolver import shipped_profiles

EXIT_BAD_INPUT = 2


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("labs", help="unmapped keys per lab and device model; the device profiles")
    commands = parser.add_subparsers(dest="labs_command", required=True, metavar="SUBCOMMAND")

    unmapped = commands.add_parser(
        "unmapped",
        help="keys seen but not mapped (or only guessed), per lab and device model, with a snippet for the lab YAML",
    )
    unmapped.add_argument("--lab", help="only this lab")
    unmapped.add_argument("--labs", type=Path, default=Path("labs"), help="labs directory (default: labs)")
    unmapped.add_argument(
        "--data-dir",
        type=Path,
        action="append",
        help="an ingest data directory (repeat for several; its subdirectories are read too); "
        "default: $CITYLAB_DATA_DIR or var",
    )
    unmapped.add_argument("--all", action="store_true", help="also keys whose values are text, booleans or null")
    unmapped.add_argument("--json", action="store_true", help="one JSON object per key, for scripts")
    unmapped.set_defaults(handler=run_unmapped)

    profiles = commands.add_parser("profiles", help="the device profiles the hub ships (hub/data/profiles)")
    profiles.add_argument("--vendor", help="only this vendor folder, e.g. elsys")
    profiles.set_defaults(handler=run_profiles)


def run_unmapped(args: argparse.Namespace) -> int:
    try:
        labs = load_labs(args.labs)
    except LabConfigError as exc:
        print(f"error: {exc}".replace("\n", "; "), file=sys.stderr)
        return EXIT_BAD_INPUT
    if args.lab is not None and args.lab not in labs:
        print(f"error: unknown lab {args.lab!r} in {args.labs} (known: {', '.join(sorted(labs))})", file=sys.stderr)
        return EXIT_BAD_INPUT
    data_dirs = args.data_dir or [Path(os.environ.get("CITYLAB_DATA_DIR", "var"))]
    report = unmapped_report(data_dirs, labs, lab=args.lab, include_text=args.all)
    if args.json:
        out = sys.stdout.buffer
        for entry in report.entries:
            out.write(orjson.dumps(entry_dict(entry)) + b"\n")
        out.flush()
        return 0
    sys.stdout.write(render(report, data_dirs))
    return 0


def entry_dict(entry: UnmappedEntry) -> dict[str, object]:
    return {
        "lab": entry.lab,
        "device_model": entry.device_model,
        "profile": entry.profile,
        "key": entry.key,
        "guessed_as": entry.guess,
        "count": entry.count,
        "sample": entry.sample,
        "sample_kind": entry.sample_kind,
        "first_seen": ns_to_rfc3339(entry.first_ns),
        "last_seen": ns_to_rfc3339(entry.last_ns),
        "device": entry.device,
        "source": entry.source,
        "topic_filter": entry.topic_filter,
        "suggested_profiles": list(entry.suggestions),
        "snippet": entry.snippet,
    }


def render(report: UnmappedReport, data_dirs: list[Path]) -> str:
    if not report.stores:
        where = ", ".join(str(directory) for directory in data_dirs)
        return f"no unmapped-key store under {where}: has ingest (citylab serve) run with this data directory?\n"
    lines: list[str] = []
    group: tuple[str, str | None] | None = None
    for entry in report.entries:
        if (entry.lab, entry.device_model) != group:
            group = (entry.lab, entry.device_model)
            model = entry.device_model or "(the network names no model)"
            profile = f", profile {entry.profile}" if entry.profile else ", no profile"
            lines += ["", f"{entry.lab}: device model {model}{profile}"]
        what = f"guessed as {entry.guess}" if entry.guess else "unmapped"
        lines.append(
            f"  {entry.key}  [{what}]  seen {entry.count}x, last {ns_to_rfc3339(entry.last_ns)} "
            f"from {entry.device or '?'}, sample {entry.sample}"
        )
        lines += [f"    {line}" for line in entry.snippet.rstrip("\n").splitlines()]
    for gone in report.dropped:
        lines.append(
            f"{gone.lab}: {gone.count} more sightings of keys of device model {gone.device_model or '(unnamed)'} "
            "were not stored: the store is full"
        )
    if not report.entries:
        lines.append("no unmapped or guessed keys" + (" left" if report.hidden else ""))
    if report.hidden:
        lines.append(
            f"({report.hidden} more left out: keys the lab config or a profile now maps"
            ", and keys with text, boolean or null values: --all)"
        )
    return "\n".join(lines).lstrip("\n") + "\n"


def run_profiles(args: argparse.Namespace) -> int:
    shown = 0
    for profile in shipped_profiles().files():
        vendor = profile.model.split("/", 1)[0]
        if args.vendor is not None and vendor != args.vendor:
            continue
        shown += 1
        models = ", ".join(profile.models)
        names = "; ".join(profile.names)
        print(f"{profile.model}\t{profile.name}\tmodels: {models}\tnames: {names}")
    if not shown:
        print(f"error: no profiles for vendor {args.vendor!r}", file=sys.stderr)
        return EXIT_BAD_INPUT
    return 0
