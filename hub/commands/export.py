"""``citylab export``: write the open data (daily CSV files, DCAT-AP 3 catalogue, README) to a directory."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, date, datetime
from pathlib import Path

from pydantic import ValidationError

from hub.settings import Settings


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "export",
        help="write daily CSV files per city and quantity and a DCAT-AP 3 catalogue (docs/interoperability.md)",
    )
    parser.add_argument("--out", type=Path, required=True, help="directory to write into (created when missing)")
    parser.add_argument("--from", dest="first", type=date.fromisoformat, help="first UTC day, YYYY-MM-DD")
    parser.add_argument("--to", dest="last", type=date.fromisoformat, help="last UTC day, YYYY-MM-DD (default: today)")
    parser.add_argument("--city", action="append", help="only this city (repeatable)")
    parser.add_argument(
        "--base-url",
        help="public URL the files will be served under, for the catalogue's links (default: "
        "CITYLAB_OPEN_DATA_PUBLIC_URL, else file:// URLs of --out)",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from hub.api.state import make_influxql
    from hub.labs import LabConfigError, load_labs
    from hub.opendata import publication
    from hub.opendata.catalog import build_catalog
    from hub.opendata.settings import OpenDataSettings
    from hub.read import ReadError

    try:
        settings = Settings()
        open_data = OpenDataSettings()
        labs = load_labs(settings.labs)
    except (ValidationError, ValueError, OSError, LabConfigError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    last = args.last or datetime.now(UTC).date()
    first = args.first or publication.day_range(last, open_data.days)[0]
    if first > last:
        print("error: --from is after --to", file=sys.stderr)
        return 2
    if args.city:
        unknown = sorted(set(args.city) - {lab.city for lab in labs.values()})
        if unknown:
            print(f"error: unknown city {', '.join(unknown)}", file=sys.stderr)
            return 2
        labs = {name: lab for name, lab in labs.items() if lab.city in args.city}
    out: Path = args.out
    if args.base_url:
        root = args.base_url
    elif open_data.public_url:
        root = open_data.public_url.rstrip("/") + "/open-data"
    else:
        root = out.resolve().as_uri()
    client = make_influxql(settings)
    files = readings = 0
    try:
        datasets = publication.datasets(client, labs, first, last)
        for dataset in datasets:
            for day in sorted(dataset.days):
                target = out / dataset.city / dataset.quantity / f"{day.isoformat()}.csv"
                target.parent.mkdir(parents=True, exist_ok=True)
                with target.open("w", encoding="utf-8", newline="") as handle:
                    for chunk in publication.csv_lines(
                        client, dataset.city, dataset.quantity, day, open_data.max_rows_per_file
                    ):
                        handle.write(chunk)
                files += 1
                readings += dataset.days[day]
        catalog = build_catalog(datasets, labs, open_data, root)
    except ReadError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        client.close()
    (out / "catalog.jsonld").write_text(json.dumps(catalog, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    (out / "README.txt").write_text(
        publication.readme(labs, open_data.license_name, open_data.license_url), encoding="utf-8"
    )
    print(f"wrote {files} daily files ({readings} readings, {first}..{last}) and catalog.jsonld to {out}")
    return 0
