"""Whether a Docker daemon is reachable, for the testcontainers tests (skipped, with the reason, if not)."""

from __future__ import annotations


def docker_unavailable_reason() -> str | None:
    """None when Docker answers a ping; otherwise why the container tests can't run here."""
    try:
        import docker
    except ImportError:
        return "the docker Python package is not installed"
    try:
        client = docker.from_env()
        client.ping()
    except Exception as exc:  # docker raises several unrelated types for "no daemon"
        return f"no Docker daemon reachable ({type(exc).__name__}); the same tests run on Debian services instead"
    client.close()
    return None
