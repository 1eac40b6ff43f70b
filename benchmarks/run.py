"""``python -m benchmarks``: the hub against the client's ceiling and the real alternative, in one run.

See benchmarks/README.md for what each phase does and how to read the numbers.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks import hotpath, latency, machine, nodered
from benchmarks.mix import (
    DEFAULT_SEED,
    LABS_DIR,
    MIX_NAMES,
    ROOT,
    Expectation,
    MixMessage,
    build_messages,
    describe,
    expect,
    parse_weights,
)
from benchmarks.phases import BareConsumer, Consumer, Context, HubConsumer, NodeRedConsumer, create_session, drain
from benchmarks.procstat import peak_rss_bytes
from benchmarks.stack import BenchBroker, QueueLimits
from hub.devstack import InfluxDB1, free_port
from hub.labs import LabConfig, load_labs
from hub.routing import Router
from simulators import publish

RESULTS_DIR = ROOT / "benchmarks" / "results"
SCHEMA = "citylab-benchmark/1"
PHASES = ("ceiling", "hub", "workers", "hub_ttn", "node_red", "node_red_batched", "latency")
NODE_RED_PHASES = ("node_red", "node_red_batched")
# The batched Node-RED flow gathers what the hub gathers: up to 5,000 lines (~1,000 TTN uplinks), 100 ms.
NODE_RED_BATCH_MESSAGES = 1000
_TITLES = {
    "workers": "2 workers (citylab serve --workers 2)",
    "node_red": "Node-RED, a write per message",
    "node_red_batched": f"Node-RED, batched ({NODE_RED_BATCH_MESSAGES} msgs/100 ms)",
    "hub_ttn": "one hub, TTN third only",
}
NS_PER_DAY = 86_400 * 1_000_000_000

# Issue 13's targets for this 2-core machine class.
TARGET_HUB_OVER_CEILING = 0.5
GOAL_HUB_OVER_CEILING = 0.8
TARGET_WORKERS_OVER_HUB = 1.6
TARGET_HUB_OVER_NODE_RED = 4.0
TARGET_P99_MS = 250.0
TARGET_LATENCY_RATE = 1000.0
TARGET_RSS_MB = 150.0


def serve_supports_workers() -> bool:
    """Whether ``citylab serve`` has a ``--workers`` option (read from its help, not assumed)."""
    done = subprocess.run(
        [sys.executable, "-m", "hub.cli", "serve", "--help"], capture_output=True, text=True, timeout=60, check=False
    )
    return "--workers" in done.stdout


def _ttn_labs(labs: dict[str, LabConfig], messages: list[MixMessage], into: Path) -> tuple[Path, list[str]]:
    """A labs directory with the labs of the mix's TTN messages only, and their topic filters."""
    router = Router(labs)
    chosen = sorted({route.lab.lab for m in messages if (route := router.route(m.message.topic)) is not None})
    into.mkdir(parents=True, exist_ok=True)
    for lab in chosen:
        shutil.copy(LABS_DIR / f"{lab}.yaml", into / f"{lab}.yaml")
    return into, Router(load_labs(into)).topic_filters


def _consumers(
    args: argparse.Namespace,
    labs: dict[str, LabConfig],
    messages: list[MixMessage],
    expectation: Expectation,
    work_dir: Path,
    notes: dict[str, str],
) -> list[Consumer]:
    filters = Router(labs).topic_filters
    wanted = set(args.phases)
    consumers: list[Consumer] = []
    if "ceiling" in wanted:
        consumers.append(
            BareConsumer(
                client_prefix="bench-ceiling", topic_filters=filters, messages=len(messages), expected=len(messages)
            )
        )
    hub_kwargs: dict[str, Any] = {"topic_filters": filters, "messages": len(messages), "expected": expectation.points}
    if "hub" in wanted:
        consumers.append(
            HubConsumer(
                key="hub", title="one hub (citylab serve)", labs_dir=LABS_DIR, client_prefix="bench-hub", **hub_kwargs
            )
        )
    if "workers" in wanted:
        if args.workers < 2:
            notes["workers"] = "not run: --workers is below 2"
        elif serve_supports_workers():
            consumers.append(
                HubConsumer(
                    key="workers",
                    title=f"{args.workers} workers (citylab serve --workers {args.workers})",
                    labs_dir=LABS_DIR,
                    workers=args.workers,
                    client_prefix="bench-workers",
                    **hub_kwargs,
                )
            )
        else:
            notes["workers"] = "not available: serve has no --workers yet"
    ttn = [m for m in messages if m.format == "ttn-v3"]
    red_wanted = [key for key in NODE_RED_PHASES if key in wanted]
    if ({"hub_ttn"} & wanted or red_wanted) and not ttn:
        for key in ("hub_ttn", *red_wanted):
            notes[key] = "not run: the mix has no TTN uplinks"
    elif {"hub_ttn"} & wanted or red_wanted:
        ttn_dir, ttn_filters = _ttn_labs(labs, ttn, work_dir / "labs-ttn")
        ttn_expectation = expect(labs, ttn)
        if "hub_ttn" in wanted:
            hub_ttn = HubConsumer(
                key="hub_ttn",
                title="one hub, TTN third only",
                labs_dir=ttn_dir,
                client_prefix="bench-hub-ttn",
                topic_filters=ttn_filters,
                messages=len(ttn),
                expected=ttn_expectation.points,
            )
            hub_ttn.measurements = ttn_expectation.measurements
            consumers.append(hub_ttn)
        if red_wanted:
            reason = "not run: --no-node-red" if args.no_node_red else nodered.unavailable_reason()
            if reason is None:
                try:
                    notes["node_red_versions"] = json.dumps(nodered.install())
                except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
                    reason = f"skipped: {exc}"
            points, measurements = nodered.expected_points(ttn)
            for key in red_wanted:
                if reason is not None:
                    notes[key] = reason
                    continue
                batch = NODE_RED_BATCH_MESSAGES if key == "node_red_batched" else 0
                red = NodeRedConsumer(
                    key=key,
                    title=_TITLES[key],
                    batch_messages=batch,
                    client_prefix=f"bench-{key.replace('_', '-')}",
                    topic_filters=ttn_filters,
                    messages=len(ttn),
                    expected=points,
                )
                red.measurements = measurements
                consumers.append(red)
    for consumer in consumers:
        if isinstance(consumer, HubConsumer) and not consumer.measurements:
            consumer.measurements = expectation.measurements
    return consumers


def _median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The run with the median rate (the lower middle one for an even count)."""
    ordered = sorted(runs, key=lambda run: float(run.get("rate_msg_s") or 0.0))
    return ordered[(len(ordered) - 1) // 2]


def _ratio(numerator: dict[str, Any] | None, denominator: dict[str, Any] | None) -> float | None:
    if not numerator or not denominator:
        return None
    if numerator.get("status") != "ok" or denominator.get("status") != "ok":
        return None
    low = float(denominator.get("rate_msg_s") or 0.0)
    return round(float(numerator["rate_msg_s"]) / low, 3) if low else None


def _cpu_ratio(numerator: dict[str, Any] | None, denominator: dict[str, Any] | None) -> float | None:
    """Rate ratio if each had one core to itself: the denominator's CPU per message over the numerator's."""
    if _ratio(numerator, denominator) is None:
        return None
    assert numerator is not None and denominator is not None
    top = float(numerator["cpu_us_per_msg"]["consumer"])
    bottom = float(denominator["cpu_us_per_msg"]["consumer"])
    return round(bottom / top, 3) if top else None


def ratios(rounds: list[dict[str, dict[str, Any]]]) -> dict[str, Any]:
    """Each ratio per round (its two phases side by side in that round), then their median and range."""
    pairs = {
        "hub_over_ceiling": ("hub", "ceiling"),
        "workers_over_hub": ("workers", "hub"),
        "hub_over_node_red": ("hub_ttn", "node_red"),
        "hub_over_node_red_batched": ("hub_ttn", "node_red_batched"),
        "hub_ttn_over_ceiling": ("hub_ttn", "ceiling"),
    }
    result: dict[str, Any] = {}
    for name, (top, bottom) in pairs.items():
        values = [value for runs in rounds if (value := _ratio(runs.get(top), runs.get(bottom))) is not None]
        by_cpu = [value for runs in rounds if (value := _cpu_ratio(runs.get(top), runs.get(bottom))) is not None]
        result[name] = {
            "median": round(statistics.median(values), 3) if values else None,
            "min": min(values) if values else None,
            "max": max(values) if values else None,
            "per_round": values,
            # The same ratio from CPU per message: what each would do with a core of its own, steadier on a
            # shared machine (but blind to anything that holds a consumer back without using CPU).
            "by_cpu": round(statistics.median(by_cpu), 3) if by_cpu else None,
        }
    return result


def _lost_share(phase: dict[str, Any]) -> str:
    runs = phase.get("runs") or [phase]
    shares = [int(run.get("lost", 0)) / max(int(run.get("expected", 1)), 1) for run in runs]
    low, high = min(shares), max(shares)
    return f"{low:.0%}" if round(low, 2) == round(high, 2) else f"{low:.0%}–{high:.0%}"


def _verdict(measured: float | None, met: bool | None) -> str:
    if measured is None or met is None:
        return "not measured"
    return "met" if met else "missed"


def targets(summary: dict[str, Any], ratio: dict[str, Any], notes: dict[str, str]) -> list[dict[str, Any]]:
    phases = summary
    hub_ceiling = ratio["hub_over_ceiling"]["median"]
    workers_hub = ratio["workers_over_hub"]["median"]
    # Against the strongest Node-RED flow that stored every reading: the smallest ratio among them.
    red_ratios = {
        key: ratio[f"hub_over_{key}"]["median"]
        for key in NODE_RED_PHASES
        if ratio[f"hub_over_{key}"]["median"] is not None
    }
    hub_red = min(red_ratios.values()) if red_ratios else None
    red_notes = []
    for key in NODE_RED_PHASES:
        phase = phases.get(key)
        if not phase:
            continue
        if key in red_ratios:
            red_notes.append(f"{key}: {red_ratios[key]:.2f}x")
        elif phase.get("status") in ("skipped", "not available"):
            red_notes.append(f"{key}: {phase.get('note', phase['status'])}")
        else:
            lost_share = _lost_share(phase)
            red_notes.append(f"{key}: lost {lost_share} of its readings, so no rate to compare")
    latency_phase = phases.get("latency") or {}
    p99 = latency_phase.get("latency_ms", {}).get("p99")
    latency_rate = latency_phase.get("rate_achieved_msg_s")
    hub_rss = [
        float(process["peak_rss_mb"])
        for key in ("hub", "workers", "hub_ttn", "latency")
        for run in (phases.get(key) or {}).get("runs", [phases.get(key)] if phases.get(key) else [])
        for process in run.get("processes", [])
    ]
    lost = {
        key: sum(int(run.get("lost", 0)) for run in (phases[key].get("runs") or [phases[key]]))
        for key in ("ceiling", "hub", "workers", "hub_ttn", "latency")
        if phases.get(key) and phases[key].get("status") not in ("skipped", "not available")
    }
    return [
        {
            "target": "one worker ≥ 0.5 × the bare-paho ceiling (goal 0.8)",
            "measured": hub_ceiling,
            "verdict": _verdict(hub_ceiling, hub_ceiling is not None and hub_ceiling >= TARGET_HUB_OVER_CEILING),
            "goal_met": hub_ceiling is not None and hub_ceiling >= GOAL_HUB_OVER_CEILING,
        },
        {
            "target": "two workers ≥ 1.6 × one",
            "measured": workers_hub,
            "verdict": _verdict(workers_hub, workers_hub is not None and workers_hub >= TARGET_WORKERS_OVER_HUB),
            "note": notes.get("workers", ""),
        },
        {
            "target": "≥ 4 × Node-RED's rate on the same messages (the TTN third)",
            "measured": hub_red,
            "verdict": _verdict(hub_red, hub_red is not None and hub_red >= TARGET_HUB_OVER_NODE_RED),
            "note": "; ".join(red_notes),
        },
        {
            "target": "p99 ≤ 250 ms at 1,000 msg/s",
            "measured": p99,
            # Only a run at the target's rate can meet or miss it.
            "verdict": _verdict(
                p99 if latency_rate and latency_rate >= 0.95 * TARGET_LATENCY_RATE else None,
                p99 is not None and p99 <= TARGET_P99_MS,
            ),
            "note": f"measured at {latency_rate:,.0f} msg/s" if latency_rate else "",
        },
        {
            "target": "peak RSS ≤ 150 MB per worker",
            "measured": max(hub_rss) if hub_rss else None,
            "verdict": _verdict(max(hub_rss) if hub_rss else None, bool(hub_rss) and max(hub_rss) <= TARGET_RSS_MB),
        },
        {
            "target": "zero readings lost in every phase (hub phases and the ceiling)",
            "measured": sum(lost.values()) if lost else None,
            "verdict": _verdict(sum(lost.values()) if lost else None, bool(lost) and sum(lost.values()) == 0),
            "by_phase": lost,
        },
    ]


def summarise(rounds: list[dict[str, dict[str, Any]]], extra: dict[str, dict[str, Any]]) -> dict[str, Any]:
    summary: dict[str, Any] = {}
    keys = [key for key in PHASES if any(key in runs for runs in rounds)]
    for key in keys:
        runs = [runs[key] for runs in rounds if key in runs]
        summary[key] = {**_median_run(runs), "runs": runs} if len(runs) > 1 else runs[0]
        if len(runs) > 1:
            summary[key]["status"] = "ok" if all(run.get("status") == "ok" for run in runs) else "incomplete"
            summary[key]["lost_all_rounds"] = sum(int(run.get("lost", 0)) for run in runs)
    summary.update(extra)
    return summary


def _fmt(value: float | None, digits: int = 0) -> str:
    if value is None:
        return "—"
    return f"{value:,.{digits}f}"


def print_report(result: dict[str, Any]) -> None:
    params = result["parameters"]
    machine_info = result["machine"]
    print(
        f"\ncitylab benchmark {result['date'][:10]}: {params['messages']:,} messages ({result['mix']['description']}), "
        f"{params['rounds']} round(s)\n{machine_info['cpu_model']}, {machine_info['usable_cores']} cores, "
        f"{machine_info['memory_gb']} GB, {machine_info['python']}, load average at start "
        f"{machine_info['load_average_at_start']}"
    )
    header = (
        f"{'phase':<42} {'msgs':>8} {'stored/expected':>17} {'lost':>6} {'s':>7} {'msg/s':>8} "
        f"{'CPU µs/msg (it|broker|influxd)':>31} {'RSS MB':>7} {'other load':>10}"
    )
    print("\n" + header)
    for key in PHASES:
        phase = result["phases"].get(key)
        if phase is None:
            continue
        if phase.get("status") in ("skipped", "not available"):
            print(f"{phase.get('title', key):<42} {phase.get('note', phase['status'])}")
            continue
        if key == "latency":
            continue
        cpu = phase.get("cpu_us_per_msg", {})
        cpu_text = f"{_fmt(cpu.get('consumer'))} | {_fmt(cpu.get('broker'))} | {_fmt(cpu.get('influxd'))}"
        stored = f"{phase.get('stored', 0):,}/{phase.get('expected', 0):,}"
        flag = "" if phase.get("status") == "ok" else f"  [{phase.get('status')}]"
        print(
            f"{phase['title']:<42} {phase['messages']:>8,} {stored:>17} {phase.get('lost', 0):>6,} "
            f"{_fmt(phase.get('seconds'), 1):>7} {_fmt(phase.get('rate_msg_s')):>8} {cpu_text:>31} "
            f"{_fmt(phase.get('peak_rss_mb')):>7} {_fmt(phase.get('other_load_cores'), 2):>10}{flag}"
        )
    lat = result["phases"].get("latency")
    if lat and lat.get("status") not in ("skipped", "not available"):
        ms = lat.get("latency_ms", {})
        print(
            f"\nlatency at a paced {lat['rate_target_msg_s']:g} msg/s "
            f"(achieved {_fmt(lat.get('rate_achieved_msg_s'))}), "
            f"{lat.get('probes_found')}/{lat.get('probes')} probes: p50 {_fmt(ms.get('p50'))} ms, "
            f"p90 {_fmt(ms.get('p90'))} ms, p99 {_fmt(ms.get('p99'))} ms, max {_fmt(ms.get('max'))} ms; "
            f"{lat.get('stored', 0):,}/{lat.get('expected', 0):,} points stored; hub "
            f"{_fmt(lat.get('cpu_us_per_msg', {}).get('consumer'))} µs CPU/msg, RSS {_fmt(lat.get('peak_rss_mb'))} MB"
        )
    in_process = result.get("in_process")
    if in_process:
        us = in_process.get("cpu_us_per_msg") or in_process["us_per_msg"]  # results before CPU time: wall
        print(
            f"in-process (route + decode + normalise + line protocol): {us['median']:.1f} µs/msg of CPU, median "
            f"(spread {us['spread_pct']:.0f} %), target ≤ {in_process['target_us_per_msg']:g}"
        )
    print(f"\n{'ratio':<28} {'median':>7} {'range':>15} {'by CPU/msg':>11}")
    names = {
        "hub_over_ceiling": "one hub / bare ceiling",
        "workers_over_hub": "2 workers / one hub",
        "hub_over_node_red": "hub / Node-RED per message",
        "hub_over_node_red_batched": "hub / Node-RED batched",
        "hub_ttn_over_ceiling": "hub (TTN third) / ceiling",
    }
    for name, label in names.items():
        value = result["ratios"][name]
        span = f"{_fmt(value['min'], 2)}–{_fmt(value['max'], 2)}" if value["median"] is not None else ""
        print(f"{label:<28} {_fmt(value['median'], 2):>7} {span:>15} {_fmt(value.get('by_cpu'), 2):>11}")
    print(f"\n{'target':<62} {'measured':>9}  verdict")
    for row in result["targets"]:
        measured = row["measured"]
        shown = _fmt(measured, 2) if isinstance(measured, float) else _fmt(measured)
        goal = " (goal 0.8 met)" if row.get("goal_met") else ""
        note = f"  ({row['note']})" if row.get("note") else ""
        print(f"{row['target']:<62} {shown:>9}  {row['verdict']}{goal}{note}")


def _round(ctx: Context, consumers: list[Consumer], messages: list[MixMessage], number: int) -> dict[str, Any]:
    """Publish the backlog once for every session, then let each consumer drain it in turn."""
    runs: dict[str, dict[str, Any]] = {}
    if not consumers:
        return runs
    print(f"round {number}: publishing the backlog of {len(messages):,} messages ...", flush=True)
    report = publish([m.message for m in messages], ctx.broker.url, max_inflight=1000)
    if report.acked != len(messages) or report.errors:
        raise RuntimeError(f"the broker did not take the whole backlog: {report.as_dict()}")
    for consumer in consumers:
        database = f"r{number}_{consumer.key}"
        ctx.influx.create_database(database)
        print(f"round {number}: {consumer.title} drains its backlog ...", flush=True)
        run = runs[consumer.key] = drain(ctx, consumer, database, round_number=number)
        print(
            f"  {run.get('status')}: {run.get('stored', 0):,}/{run.get('expected', 0):,} "
            f"{consumer.counted} in {run.get('seconds', 0):.1f}s = {run.get('rate_msg_s', 0):,.0f} msg/s",
            flush=True,
        )
        ctx.drop_database(database)
    return runs


def _latency(
    ctx: Context, args: argparse.Namespace, labs: dict[str, LabConfig], weights: dict[str, float] | None
) -> dict[str, Any]:
    """A fresh hub, the mix published at a paced rate, latency from publishing to queryable."""
    count = max(1, round(args.latency_rate * args.latency_seconds))
    print(f"latency: {count:,} messages at a paced {args.latency_rate:g} msg/s ...", flush=True)
    now_ms = time.time_ns() // 10**6 * 10**6
    live = build_messages(labs, args.mix, count, start_ns=now_ms, seed=args.seed, weights=weights)
    live_expectation = expect(labs, live)
    hub = HubConsumer(
        key="latency",
        title="one hub at a paced rate",
        labs_dir=LABS_DIR,
        client_prefix="bench-latency",
        topic_filters=Router(labs).topic_filters,
        messages=count,
        expected=live_expectation.points,
    )
    hub.measurements = live_expectation.measurements
    ctx.influx.create_database("latency")
    result = latency.run(ctx, hub, "latency", live, live_expectation, rate=args.latency_rate, probe_every=25)
    print(f"  {result.get('status')}: latency {result.get('latency_ms')}", flush=True)
    return result


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="The hub against the bare paho ceiling, two workers and Node-RED, on one broker, store and mix.",
    )
    parser.add_argument("--messages", type=int, default=100_000, help="backlog size N (default 100,000)")
    parser.add_argument("--mix", choices=MIX_NAMES, default="issue13")
    parser.add_argument("--weights", help="issue13 mix shares, e.g. ttn-v3=1,ngsi-ld=1,senml=1 (the default)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--rounds", type=int, default=1, help="repeat the drain phases; ratios per round, median")
    parser.add_argument("--phases", default=",".join(PHASES), help=f"a subset of {','.join(PHASES)}")
    parser.add_argument("--workers", type=int, default=2, help="workers for the workers phase")
    parser.add_argument("--no-node-red", action="store_true", help="skip Node-RED even when node is installed")
    parser.add_argument("--latency-rate", type=float, default=TARGET_LATENCY_RATE)
    parser.add_argument("--latency-seconds", type=float, default=20.0)
    parser.add_argument(
        "--broker-inflight",
        type=int,
        default=1000,
        help="Mosquitto max_inflight_messages: unacked QoS 1 messages per session (default 1000, as deploy/)",
    )
    parser.add_argument("--stall-s", type=float, default=30.0, help="give a phase up after this long without progress")
    parser.add_argument("--hotpath-messages", type=int, default=20_000, help="in-process measurement (0: skip)")
    parser.add_argument("--out", type=Path, help="result JSON (default benchmarks/results/<date>-<host class>.json)")
    parser.add_argument("--keep", type=Path, help="keep logs and data in this directory instead of a temporary one")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    args.phases = [name.strip() for name in args.phases.split(",") if name.strip()]
    unknown = set(args.phases) - set(PHASES)
    if unknown:
        parser.error(f"--phases: unknown {sorted(unknown)}")
    if args.messages < 1 or args.rounds < 1:
        parser.error("--messages and --rounds must be at least 1")
    try:
        weights = parse_weights(args.weights) or None
    except ValueError as exc:
        parser.error(str(exc))

    started = datetime.now(UTC)
    machine_info = machine.describe()
    labs = load_labs(LABS_DIR)
    # The same bytes all day: the mix starts at midnight two days ago.
    start_ns = (time.time_ns() // NS_PER_DAY - 2) * NS_PER_DAY
    print(f"building {args.messages:,} messages of the {args.mix} mix ...", flush=True)
    messages = build_messages(labs, args.mix, args.messages, start_ns=start_ns, seed=args.seed, weights=weights)
    expectation = expect(labs, messages)
    in_process = None
    if args.hotpath_messages > 0:
        print("measuring the in-process hot path ...", flush=True)
        in_process = hotpath.measure(labs, messages[: args.hotpath_messages], repeats=5, by_format=False)
        made = sum(len(lines) for lines in expectation.lines[: args.hotpath_messages])
        if in_process["readings"] != made or in_process["dead_letters"]:
            raise RuntimeError(f"the in-process pass made {in_process['readings']} readings, not {made}")

    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
        work_dir = args.keep
        cleanup = None
    else:
        cleanup = tempfile.TemporaryDirectory(prefix="citylab-bench-")
        work_dir = Path(cleanup.name)
    notes: dict[str, str] = {}
    rounds: list[dict[str, dict[str, Any]]] = []
    extra: dict[str, dict[str, Any]] = {}
    services: dict[str, Any] = {}
    limits = QueueLimits.for_backlog(
        len(messages), expectation.payload_bytes, sessions=len(PHASES), inflight=args.broker_inflight
    )
    try:
        consumers = _consumers(args, labs, messages, expectation, work_dir, notes)
        influx = InfluxDB1(free_port(), work_dir / "influxdb")
        broker = BenchBroker(work_dir / "mosquitto", limits)
        ctx = Context(broker=broker, influx=influx, work_dir=work_dir, stall_s=args.stall_s)
        try:
            influx.start()
            broker.start()
            for consumer in consumers:
                print(f"creating the persistent session of {consumer.title} ...", flush=True)
                influx.create_database(f"setup_{consumer.key}")
                create_session(ctx, consumer, f"setup_{consumer.key}")
                ctx.drop_database(f"setup_{consumer.key}")
            rounds = [_round(ctx, consumers, messages, number) for number in range(1, args.rounds + 1)]
            if "latency" in args.phases and args.latency_seconds > 0 and args.latency_rate > 0:
                extra["latency"] = _latency(ctx, args, labs, weights)
        finally:
            ctx.http.close()
            for name, process in (("broker", broker.process), ("influxd", influx.process)):
                if process is not None:
                    peak = peak_rss_bytes(process.pid)
                    services[f"{name}_peak_rss_mb"] = round(peak / 2**20, 1) if peak else None
            broker.stop()
            influx.stop()
    finally:
        if cleanup is not None:
            cleanup.cleanup()

    for key, note in notes.items():
        if key in PHASES and key not in extra and not any(key in runs for runs in rounds):
            status = "not available" if note.startswith("not available") else "skipped"
            extra[key] = {"phase": key, "title": _TITLES.get(key, key), "status": status, "note": note}
    summary = summarise(rounds, extra)
    ratio = ratios(rounds)
    result = {
        "schema": SCHEMA,
        "date": started.isoformat(timespec="seconds"),
        "duration_s": round((datetime.now(UTC) - started).total_seconds()),
        "machine": {
            **machine_info,
            "node_red": json.loads(notes["node_red_versions"]) if "node_red_versions" in notes else None,
            "load_average_at_end": machine.load_average(),
        },
        "parameters": {
            "messages": args.messages,
            "mix": args.mix,
            "weights": weights,
            "seed": args.seed,
            "rounds": args.rounds,
            "phases": args.phases,
            "workers": args.workers,
            "latency_rate": args.latency_rate,
            "latency_seconds": args.latency_seconds,
            "stall_s": args.stall_s,
            "mix_start": datetime.fromtimestamp(start_ns / 1e9, UTC).isoformat(),
        },
        "broker": {"queue_limits": limits.as_dict(), "persistence": False},
        "services": services,
        "mix": {"name": args.mix, "description": describe(args.mix, weights), **expectation.as_dict()},
        "in_process": in_process,
        "phases": summary,
        "ratios": ratio,
        "notes": {key: value for key, value in notes.items() if key != "node_red_versions"},
    }
    result["targets"] = targets(summary, ratio, notes)
    out = args.out or RESULTS_DIR / f"{started.date().isoformat()}-{machine.host_class(machine_info)}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print_report(result)
    print(f"\nwrote {out}")
    failed = [
        key
        for key, phase in summary.items()
        if phase.get("status") not in ("ok", "skipped", "not available") and key not in NODE_RED_PHASES
    ]
    return 1 if failed else 0
