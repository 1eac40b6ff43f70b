"""``citylab decode``: decode one payload and print one JSON reading per line."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import orjson

from adapters import CodecNotFoundError, codecs, get_codec
from core.timeutil import now_ns
from hub.labs import LabConfig, LabConfigError, Source, load_labs
from hub.pipeline import Pipeline
from hub.readings_json import reading_to_dict
from hub.topics import matches

EXIT_BAD_INPUT = 2


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("decode", help="decode one payload into canonical readings (JSON lines)")
    parser.add_argument("--format", required=True, help=f"payload format: {', '.join(sorted(codecs()))}")
    parser.add_argument("--lab", help="lab slug whose config applies (timezone, mappings, location)")
    parser.add_argument("--labs", type=Path, default=Path("labs"), help="labs directory (default: labs)")
    parser.add_argument("--topic", default="", help="MQTT topic the payload arrived on")
    parser.add_argument("file", nargs="?", default="-", help="payload file, or - for stdin")
    parser.set_defaults(handler=run)


class BadInputError(Exception):
    pass


def run(args: argparse.Namespace) -> int:
    try:
        get_codec(args.format)
        lab, source = _lab_and_source(args)
        payload = sys.stdin.buffer.read() if args.file == "-" else Path(args.file).read_bytes()
    except (CodecNotFoundError, LabConfigError, BadInputError) as exc:
        print(f"error: {exc}".replace("\n", "; "), file=sys.stderr)
        return EXIT_BAD_INPUT
    except OSError as exc:
        print(f"error: {args.file}: {exc.strerror}", file=sys.stderr)
        return EXIT_BAD_INPUT

    processed = Pipeline().process(
        payload, format_name=args.format, received_ns=now_ns(), topic=args.topic, lab=lab, source=source
    )
    if processed.failure is not None:
        print(f"error: {processed.failure.detail}", file=sys.stderr)
        return EXIT_BAD_INPUT
    out = sys.stdout.buffer
    for reading in processed.result.readings:
        out.write(orjson.dumps(reading_to_dict(reading)) + b"\n")
    out.flush()
    for rejection in processed.result.rejections:
        print(f"rejected ({rejection.code}): {rejection.detail}", file=sys.stderr)
    return 0


def _lab_and_source(args: argparse.Namespace) -> tuple[LabConfig | None, Source | None]:
    if args.lab is None:
        return None, None
    labs = load_labs(args.labs)
    lab = labs.get(args.lab)
    if lab is None:
        raise BadInputError(f"unknown lab {args.lab!r} in {args.labs} (known: {', '.join(sorted(labs))})")
    candidates = [s for s in lab.sources if s.format == args.format]
    if args.topic:
        candidates = [s for s in candidates if matches(s.topic, args.topic)] or candidates
    return lab, (candidates[0] if candidates else None)
