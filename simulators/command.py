"""``citylab simulate live|backfill|load``: simulated fleets for every lab, published to MQTT."""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from types import FrameType

from rich.console import Console

from core.timeutil import ns_to_rfc3339
from hub.labs import LabConfig, LabConfigError, load_labs
from simulators.faults import FAULT_KINDS, Faults, FaultSpecError
from simulators.fleet import Fleet, build_fleet
from simulators.message import SimMessage
from simulators.progress import ProgressDisplay
from simulators.publisher import PublishError, PublishReport, publish

EXIT_BAD_INPUT = 2
EXIT_FAILED = 1
_NS_PER_S = 1_000_000_000
_DURATION = re.compile(r"^(?P<n>\d+(?:\.\d+)?)(?P<unit>[smhdw])$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


class BadInputError(Exception):
    pass


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "simulate",
        help="simulate every lab's devices in its native format and publish them to MQTT",
        description="Simulated device fleets for every lab config: live, historic backfill, or a load test.",
    )
    modes = parser.add_subparsers(dest="mode", required=True)

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--mqtt-url",
        default=os.environ.get("CITYLAB_MQTT_URL", "mqtt://127.0.0.1:1883"),
        help="broker URL, mqtt:// or mqtts:// with optional user:password@ "
        "(default: $CITYLAB_MQTT_URL or mqtt://127.0.0.1:1883)",
    )
    common.add_argument(
        "--labs",
        type=Path,
        default=Path(os.environ.get("CITYLAB_LABS", "labs")),
        help="labs directory (default: $CITYLAB_LABS or labs)",
    )
    common.add_argument("--seed", type=int, default=0, help="random seed: the same seed gives the same stream")
    common.add_argument("--lab", action="append", default=[], help="only this lab (repeatable)")
    common.add_argument("--city", action="append", default=[], help="only this city's labs (repeatable)")
    common.add_argument(
        "--faults", default="", help=f"fault kinds to inject, comma-separated, or 'all': {', '.join(FAULT_KINDS)}"
    )
    common.add_argument(
        "--fault-rate", type=float, default=0.05, help="share of messages hit by message faults (default 0.05)"
    )
    common.add_argument("--max-inflight", type=int, default=200, help="unacknowledged QoS 1 messages at most")
    common.add_argument(
        "--dry-run", action="store_true", help="print messages as JSON lines instead of publishing them"
    )

    live = modes.add_parser("live", parents=[common], help="publish in real time until Ctrl-C")
    live.add_argument(
        "--interval",
        type=float,
        default=None,
        help="mean seconds between a device's reports, at least 1 (default: each kind's own, 2-30 min)",
    )
    live.add_argument("--duration", default=None, help="stop after this long, e.g. 10m (default: run until Ctrl-C)")
    live.set_defaults(handler=run_live)

    backfill = modes.add_parser("backfill", parents=[common], help="publish historic days quickly")
    backfill.add_argument(
        "--from",
        dest="start",
        default="7d",
        help="start: ISO date/time (UTC unless it has a zone) or a span back from --to, e.g. 7d",
    )
    backfill.add_argument("--to", dest="end", default="now", help="end: ISO date/time or 'now' (default)")
    backfill.add_argument(
        "--interval", type=float, default=900.0, help="mean seconds between a device's reports (default 900)"
    )
    backfill.set_defaults(handler=run_backfill)

    load = modes.add_parser("load", parents=[common], help="a fixed message rate for a number of seconds")
    load.add_argument("--rate", type=float, required=True, help="messages per second")
    load.add_argument("--seconds", type=float, required=True, help="how long to publish")
    load.add_argument("--json", action="store_true", help="print the report as JSON")
    load.set_defaults(handler=run_load)


# --- modes ----------------------------------------------------------------------------


def run_live(args: argparse.Namespace) -> int:
    try:
        fleet = _fleet(args)
        duration_s = parse_duration(args.duration) if args.duration else None
    except (BadInputError, LabConfigError, FaultSpecError) as exc:
        return _bad_input(exc)
    start_ns = time.time_ns()
    messages: Iterator[SimMessage] = fleet.live(start_ns, interval_s=args.interval)
    if duration_s is not None:
        end_ns = start_ns + round(duration_s * _NS_PER_S)
        messages = _until(messages, end_ns)
    return _run(args, fleet, messages, pace=True, total=None, title="live")


def run_backfill(args: argparse.Namespace) -> int:
    try:
        fleet = _fleet(args)
        start_ns, end_ns = parse_range(args.start, args.end, time.time_ns())
    except (BadInputError, LabConfigError, FaultSpecError) as exc:
        return _bad_input(exc)
    estimate = len(fleet.devices) * (end_ns - start_ns) // (round(args.interval * _NS_PER_S) or 1)
    _console().print(
        f"backfill {ns_to_rfc3339(start_ns)} .. {ns_to_rfc3339(end_ns)}: {len(fleet.devices)} devices in "
        f"{len(fleet.labs)} labs, about {estimate} messages"
    )
    messages = fleet.backfill(start_ns, end_ns, interval_s=args.interval)
    return _run(args, fleet, messages, pace=False, total=estimate, title="backfill")


def run_load(args: argparse.Namespace) -> int:
    try:
        if args.rate <= 0 or args.seconds <= 0:
            raise BadInputError("--rate and --seconds must be positive")
        fleet = _fleet(args)
    except (BadInputError, LabConfigError, FaultSpecError) as exc:
        return _bad_input(exc)
    # Generated before the clock starts, so the rate measures the broker path, not the simulator.
    lead_s = 0.5 + args.rate * args.seconds / 20000
    messages = list(fleet.load(time.time_ns() + round(lead_s * _NS_PER_S), args.rate, args.seconds))
    return _run(
        args,
        fleet,
        iter(messages),
        pace=False,
        rate=args.rate,
        total=len(messages),
        title="load",
        quiet=args.json,
        extra={"requested_rate_per_s": args.rate, "seconds": args.seconds},
    )


# --- shared ---------------------------------------------------------------------------


def _run(
    args: argparse.Namespace,
    fleet: Fleet,
    messages: Iterator[SimMessage],
    *,
    pace: bool,
    total: int | None,
    title: str,
    rate: float | None = None,
    quiet: bool = False,
    extra: dict[str, object] | None = None,
) -> int:
    console = _console()
    for skipped in fleet.skipped:
        console.print(f"[yellow]not simulated[/]: {skipped.lab}: {skipped.reason}")
    if args.dry_run:
        for message in messages:
            sys.stdout.write(json.dumps(_as_json(message), ensure_ascii=False) + "\n")
        return 0
    stop = threading.Event()
    previous = _stop_on_signals(stop)
    try:
        with ProgressDisplay(title, total=total, console=console, enabled=not quiet) as display:
            report = publish(
                messages,
                args.mqtt_url,
                pace=pace,
                rate=rate,
                max_inflight=args.max_inflight,
                on_progress=display.update,
                stop=stop,
            )
    except PublishError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    finally:
        _restore_signals(previous)
    if getattr(args, "json", False):
        print(json.dumps({**(extra or {}), **report.as_dict()}))
    else:
        _print_report(console, report)
    return 0 if report.errors == 0 else EXIT_FAILED


def _print_report(console: Console, report: PublishReport) -> None:
    console.print(
        f"sent {report.sent} messages, {report.acked} acknowledged, {report.errors} errors, "
        f"in {report.elapsed_s:.1f}s ({report.rate:.0f} msg/s)"
    )
    for lab, count in sorted(report.by_lab.items()):
        console.print(f"  {lab}: {count}")
    for text in report.error_messages[:10]:
        console.print(f"  [red]error[/]: {text}")


def _fleet(args: argparse.Namespace) -> Fleet:
    labs = _select(load_labs(args.labs), args.lab, args.city)
    faults = Faults.parse(args.faults, args.fault_rate)
    fleet = build_fleet(labs, seed=args.seed, faults=faults)
    if not fleet.devices:
        raise BadInputError(
            "no lab selected has a device the simulator can write; see 'not simulated' above"
            if fleet.skipped
            else "no labs selected"
        )
    return fleet


def _select(labs: dict[str, LabConfig], only_labs: list[str], cities: list[str]) -> dict[str, LabConfig]:
    unknown = [lab for lab in only_labs if lab not in labs]
    if unknown:
        raise BadInputError(f"unknown lab(s) {', '.join(unknown)} (known: {', '.join(sorted(labs))})")
    known_cities = {lab.city for lab in labs.values()}
    unknown = [city for city in cities if city not in known_cities]
    if unknown:
        raise BadInputError(f"no lab in city {', '.join(unknown)} (cities: {', '.join(sorted(known_cities))})")
    return {
        slug: lab
        for slug, lab in labs.items()
        if (not only_labs or slug in only_labs) and (not cities or lab.city in cities)
    }


def parse_duration(text: str) -> float:
    match = _DURATION.match(text.strip())
    if match is None:
        raise BadInputError(f"not a duration: {text!r} (use e.g. 90s, 10m, 6h, 7d, 2w)")
    return float(match["n"]) * _UNIT_S[match["unit"]]


def parse_instant(text: str, now_ns: int) -> int:
    if text == "now":
        return now_ns
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise BadInputError(f"not an ISO date or time: {text!r}") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return int(parsed.timestamp()) * _NS_PER_S + parsed.microsecond * 1000


def parse_range(start: str, end: str, now_ns: int) -> tuple[int, int]:
    """``--from``/``--to``: ISO dates or times, or a span such as 7d counted back from ``--to``."""
    end_ns = now_ns - _NS_PER_S * 60 if end == "now" else _instant_or_date(end, now_ns)
    if _DURATION.match(start.strip()):
        start_ns = end_ns - round(parse_duration(start) * _NS_PER_S)
    else:
        start_ns = _instant_or_date(start, now_ns)
    if start_ns >= end_ns:
        raise BadInputError(f"--from {start} is not before --to {end}")
    return start_ns, end_ns


def _instant_or_date(text: str, now_ns: int) -> int:
    try:
        day = date.fromisoformat(text)
    except ValueError:
        return parse_instant(text, now_ns)
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()) * _NS_PER_S


def _until(messages: Iterator[SimMessage], end_ns: int) -> Iterator[SimMessage]:
    for message in messages:
        if message.send_at_ns >= end_ns:
            return
        yield message


def _as_json(message: SimMessage) -> dict[str, object]:
    return {
        "topic": message.topic,
        "lab": message.lab,
        "device": message.device,
        "time": ns_to_rfc3339(message.time_ns),
        "faults": list(message.faults),
        "payload": message.payload.decode("utf-8", errors="replace"),
    }


def _console() -> Console:
    # soft_wrap: a log file or pipe gets whole lines, never text hard-wrapped at 80 columns.
    return Console(stderr=True, soft_wrap=True)


def _bad_input(exc: Exception) -> int:
    print(f"error: {exc}".replace("\n", "; "), file=sys.stderr)
    return EXIT_BAD_INPUT


def _stop_on_signals(stop: threading.Event) -> dict[int, object]:
    """Ctrl-C and SIGTERM end the run cleanly: what is in flight is still acknowledged."""
    if threading.current_thread() is not threading.main_thread():
        return {}

    def handler(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    previous: dict[int, object] = {}
    for signum in (signal.SIGINT, signal.SIGTERM):
        previous[signum] = signal.getsignal(signum)
        signal.signal(signum, handler)
    return previous


def _restore_signals(previous: dict[int, object]) -> None:
    for signum, handler in previous.items():
        signal.signal(signum, handler)  # type: ignore[arg-type]
