"""``citylab dashboards build`` and ``citylab dashboards push``."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from dashboards.build import DASHBOARD_JSON_DIR, stale, write
from dashboards.push import InfluxTarget, PushError, credential_from_env, push

EXIT_STALE = 1
EXIT_PUSH_FAILED = 2


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("dashboards", help="build or upload the Grafana dashboards")
    actions = parser.add_subparsers(dest="dashboards_command", required=True)

    build = actions.add_parser("build", help="write the dashboard JSON that Grafana provisions")
    build.add_argument(
        "--out", type=Path, default=DASHBOARD_JSON_DIR, help=f"directory (default: {DASHBOARD_JSON_DIR})"
    )
    build.add_argument("--check", action="store_true", help="write nothing; exit 1 if the JSON is stale")
    build.set_defaults(handler=run_build)

    upload = actions.add_parser(
        "push",
        help="upload folder, datasource and dashboards to a running Grafana",
        description="Credentials: GRAFANA_TOKEN, or GRAFANA_USER and GRAFANA_PASSWORD. "
        "The datasource token comes from CITYLAB_INFLUX_TOKEN.",
    )
    upload.add_argument(
        "--grafana-url",
        default=os.environ.get("GRAFANA_URL"),
        required="GRAFANA_URL" not in os.environ,
        help="Grafana base URL (default: $GRAFANA_URL)",
    )
    upload.add_argument(
        "--influx-url",
        default=os.environ.get("CITYLAB_GRAFANA_INFLUX_URL", os.environ.get("CITYLAB_INFLUX_URL")),
        help="InfluxDB URL as Grafana reaches it (default: $CITYLAB_GRAFANA_INFLUX_URL, else $CITYLAB_INFLUX_URL)",
    )
    upload.add_argument(
        "--bucket",
        default=os.environ.get("CITYLAB_INFLUX_BUCKET", "citylab"),
        help="bucket (InfluxDB 2.x/3.x) or database (1.x) (default: $CITYLAB_INFLUX_BUCKET)",
    )
    upload.add_argument("--skip-datasource", action="store_true", help="leave the datasource as it is")
    upload.set_defaults(handler=run_push)


def run_build(args: argparse.Namespace) -> int:
    if args.check:
        problems = stale(args.out)
        if problems:
            print(
                f"stale dashboard JSON in {args.out}: {', '.join(problems)}; run `citylab dashboards build`",
                file=sys.stderr,
            )
            return EXIT_STALE
        print(f"dashboard JSON in {args.out} is up to date")
        return 0
    for path in write(args.out):
        print(path)
    return 0


def run_push(args: argparse.Namespace) -> int:
    influx = None
    if not args.skip_datasource:
        if not args.influx_url:
            print(
                "no InfluxDB URL: pass --influx-url or set CITYLAB_INFLUX_URL (or use --skip-datasource)",
                file=sys.stderr,
            )
            return EXIT_PUSH_FAILED
        influx = InfluxTarget(args.influx_url, args.bucket, os.environ.get("CITYLAB_INFLUX_TOKEN"))
    try:
        uids = push(args.grafana_url, influx, credential_from_env())
    except PushError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_PUSH_FAILED
    for uid in uids:
        print(f"{args.grafana_url.rstrip('/')}/d/{uid}")
    return 0
