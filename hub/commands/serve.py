"""``citylab serve``: run the ingest service until SIGTERM; ``--workers N``: N pipelines, supervised."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from types import FrameType
from typing import TYPE_CHECKING

from pydantic import ValidationError

from hub.labs import LabConfigError
from hub.settings import Settings

if TYPE_CHECKING:
    from hub.api.server import BackgroundApi
    from hub.ingest.service import IngestService
    from hub.ingest.supervisor import Supervisor
    from hub.ingest.workers import WorkerIdentity

log = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from hub.ingest.workers import MAX_WORKERS

    parser = subparsers.add_parser(
        "serve",
        help="run the MQTT → InfluxDB ingest service (config: CITYLAB_* env); with CITYLAB_API_PORT also the HTTP API",
    )
    parser.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help=f"run N supervised worker processes (1..{MAX_WORKERS}) sharing the subscriptions "
        "($share/<group>/<filter>, group CITYLAB_MQTT_SHARE_GROUP, default the client id); worker i is MQTT "
        "client <CITYLAB_MQTT_CLIENT_ID>-w<i> with data directory <CITYLAB_DATA_DIR>/worker-<i>, restarted "
        "with that identity when it dies "
        "(without --workers: one pipeline in this process)",
    )
    parser.add_argument(
        "--retire",
        action="store_true",
        help="drain and end the persistent session of CITYLAB_MQTT_CLIENT_ID (with its CITYLAB_DATA_DIR and "
        "CITYLAB_MQTT_SHARE_GROUP): leave the group, handle what the broker holds for it and its spool, then end the "
        "session; for a worker or replica that will not come back (docs/scaling.md)",
    )
    # Internal: how the supervisor starts worker i (1-based).
    parser.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from hub.ingest.workers import MAX_WORKERS
    from hub.redaction import install_secret_scrubber

    if args.worker is not None and not 1 <= args.worker <= MAX_WORKERS:
        print(f"error: --worker must be 1..{MAX_WORKERS}", file=sys.stderr)
        return 2
    if args.workers is not None and not 1 <= args.workers <= MAX_WORKERS:
        print(f"error: --workers must be 1..{MAX_WORKERS}", file=sys.stderr)
        return 2
    if args.retire and args.workers is not None:
        print("error: --retire ends one session: give it that session's identity, not --workers", file=sys.stderr)
        return 2
    try:
        settings = Settings()
        install_secret_scrubber(settings.secret_values())
    except (ValidationError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.worker is not None:
        return _run_worker(settings, args.worker)
    if args.workers is not None:
        return _run_supervisor(settings, args.workers, args.log_level)
    if args.retire:
        return _run_retire(settings)
    return _run_single(settings)


def _run_single(settings: Settings) -> int:
    from hub.ingest.service import IngestService

    try:
        service = IngestService(settings)
    except (LabConfigError, ValidationError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    api = _start_api(settings, service=service)
    if api is None and settings.api_port is not None:
        return 2
    try:
        ran_clean = service.run_forever(on_sighup=api.reload_labs if api is not None else None)
    finally:
        if api is not None:
            api.stop()
    return 0 if ran_clean else 1


def _run_retire(settings: Settings) -> int:
    from hub.ingest.retire import retire
    from hub.ingest.service import IngestService

    try:
        service = IngestService(settings)
    except (LabConfigError, ValidationError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        log.info("received %s: stopping the retirement", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    return 0 if retire(service, stop=stop) else 1


def _run_worker(settings: Settings, index: int) -> int:
    """One worker of a supervisor: its own identity, no API, a status file, and a stop when the supervisor dies."""
    from hub.ingest.service import IngestService
    from hub.ingest.workers import RETIRED_MARK, ParentWatch, StatusWriter, identity, share_group, worker_settings

    worker = identity(settings, index)
    _prefix_log_lines(worker.name)
    try:
        own = worker_settings(settings, worker, share_group(settings))
        service = IngestService(own)
    except (LabConfigError, ValidationError, ValueError, OSError) as exc:
        print(f"error: {worker.name}: {exc}", file=sys.stderr)
        return 2
    (own.data_dir / RETIRED_MARK).unlink(missing_ok=True)  # a retired worker that is started again is back
    status = StatusWriter(service)
    status.start()
    ParentWatch().start()
    try:
        ran_clean = service.run_forever()
    finally:
        status.stop()
    return 0 if ran_clean else 1  # 1: the supervisor restarts it


def _prefix_log_lines(name: str) -> None:
    """Every line a worker logs says which worker it is: they share the supervisor's stderr."""
    for handler in logging.getLogger().handlers:
        handler.setFormatter(logging.Formatter(f"%(asctime)s %(levelname)s [{name}] %(name)s: %(message)s"))


def _run_supervisor(settings: Settings, count: int, log_level: str) -> int:
    from hub.ingest.supervisor import Supervisor
    from hub.ingest.workers import identities, share_group

    try:
        group = share_group(settings)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    workers = identities(settings, count)
    _warn_about_left_workers(settings, count, group)

    def command(worker: WorkerIdentity) -> list[str]:
        return [sys.executable, "-m", "hub.cli", "--log-level", log_level, "serve", "--worker", str(worker.index)]

    # The group goes to the workers through their environment, whichever way it was chosen.
    env = {**os.environ, "CITYLAB_MQTT_SHARE_GROUP": group}
    supervisor = Supervisor(workers, command, env=env)
    api = None
    if settings.api_port is not None:
        api = _start_api(settings, supervisor=supervisor)
        if api is None:
            return 2
    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        log.info("received %s: stopping every worker", signal.Signals(signum).name)
        stop.set()

    def on_hangup(_signum: int, _frame: FrameType | None) -> None:
        log.info("SIGHUP: workers keep the lab configs they started with; restart citylab serve to apply changes")
        if api is not None:
            api.reload_labs()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGHUP, on_hangup)
    log.info(
        "supervising %d workers sharing the subscriptions in group %s (data in %s)",
        count,
        group,
        settings.data_dir,
    )
    try:
        return supervisor.run(stop)
    finally:
        if api is not None:
            api.stop()


def _warn_about_left_workers(settings: Settings, count: int, group: str) -> None:
    """A worker of an earlier, larger run still has its session at the broker, which (Mosquitto) keeps queueing
    its share of the messages for it: say how to retire it."""
    from hub.deadletters.stores import WORKER_DIR
    from hub.ingest.workers import RETIRED_MARK, identity

    if not settings.data_dir.is_dir():
        return
    for child in sorted(settings.data_dir.iterdir()):
        match = WORKER_DIR.match(child.name)
        if match is None or int(match.group(1)) <= count or (child / RETIRED_MARK).exists():
            continue
        left = identity(settings, int(match.group(1)))
        log.warning(
            "%s (MQTT client %s) ran before and is not started now: its persistent session may still hold, and keep "
            "receiving, its share of the messages. Retire it: CITYLAB_MQTT_CLIENT_ID=%s CITYLAB_DATA_DIR=%s "
            "CITYLAB_MQTT_SHARE_GROUP=%s citylab serve --retire",
            left.name,
            left.client_id,
            left.client_id,
            left.data_dir,
            group,
        )


def _start_api(
    settings: Settings, *, service: IngestService | None = None, supervisor: Supervisor | None = None
) -> BackgroundApi | None:
    """Host the API in this process, so /metrics and /ready see the ingest service or every worker."""
    if settings.api_port is None:
        return None
    from hub.api.main import create_app
    from hub.api.server import BackgroundApi

    api = BackgroundApi(create_app(settings, ingest=service, workers=supervisor), settings.api_host, settings.api_port)
    try:
        api.start()
    except RuntimeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return None
    return api
