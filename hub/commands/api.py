"""``citylab api``: serve the HTTP API (config: CITYLAB_* env; see docs/api.md)."""

from __future__ import annotations

import argparse
import sys

from pydantic import ValidationError

from hub.settings import Settings


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("api", help="serve the HTTP API: labs, devices, readings, compare, dead letters")
    parser.add_argument("--host", help="address to listen on (default: CITYLAB_API_HOST or 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port to listen on (default: CITYLAB_API_PORT or 8080)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    import uvicorn

    from hub.api.main import create_app
    from hub.api.server import DEFAULT_PORT, lab_reloader, reload_on_sighup, uvicorn_config
    from hub.redaction import install_secret_scrubber

    try:
        settings = Settings()
    except (ValidationError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    install_secret_scrubber(settings.secret_values())
    host = args.host or settings.api_host
    port = args.port or settings.api_port or DEFAULT_PORT
    app = create_app(settings)
    reload_on_sighup(lab_reloader(app))
    server = uvicorn.Server(uvicorn_config(app, host, port))
    server.run()
    return 0 if server.started else 1
