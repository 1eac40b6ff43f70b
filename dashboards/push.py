"""Upload the datasource, the folder and the dashboards to a running Grafana over its HTTP API.

Idempotent: the folder and datasource are found by their fixed uids and updated in
place, dashboards are saved with ``overwrite``. Credentials come from the environment
and are never logged.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from typing import Any

import niquests
from grafana_client.api import GrafanaApi
from grafana_client.client import GrafanaClientError, GrafanaException

from dashboards.build import DASHBOARDS, render
from dashboards.common import DATASOURCE_NAME, DATASOURCE_UID, FOLDER_TITLE, FOLDER_UID

log = logging.getLogger(__name__)

NOT_FOUND = 404


class PushError(RuntimeError):
    pass


@dataclass(frozen=True)
class InfluxTarget:
    """The InfluxDB as Grafana reaches it (the URL may differ from the hub's)."""

    url: str
    bucket: str
    token: str | None

    def datasource(self) -> dict[str, Any]:
        """The same datasource as provisioning/datasources/citylab.yaml, with values filled in."""
        body: dict[str, Any] = {
            "name": DATASOURCE_NAME,
            "uid": DATASOURCE_UID,
            "type": "influxdb",
            "access": "proxy",
            "url": self.url,
            "isDefault": True,
            "jsonData": {"version": "InfluxQL", "dbName": self.bucket, "httpMode": "GET", "timeInterval": "10s"},
        }
        if self.token:
            body["jsonData"]["httpHeaderName1"] = "Authorization"
            body["secureJsonData"] = {"httpHeaderValue1": f"Token {self.token}"}
        return body


def credential_from_env() -> str | tuple[str, str] | None:
    """``GRAFANA_TOKEN`` (a service-account token), else ``GRAFANA_USER`` + ``GRAFANA_PASSWORD``."""
    token = os.environ.get("GRAFANA_TOKEN")
    if token:
        return token
    user, password = os.environ.get("GRAFANA_USER"), os.environ.get("GRAFANA_PASSWORD")
    if user and password:
        return (user, password)
    return None


def connect(grafana_url: str, credential: str | tuple[str, str] | None) -> Any:
    """A ``GrafanaApi``; typed ``Any`` because grafana-client's methods carry no annotations."""
    return GrafanaApi.from_url(url=grafana_url, credential=credential, timeout=15.0)


def ensure_folder(api: Any) -> None:
    try:
        api.folder.get_folder(FOLDER_UID)
        log.info("folder %s exists", FOLDER_UID)
    except GrafanaClientError as exc:
        if exc.status_code != NOT_FOUND:
            raise
        api.folder.create_folder(FOLDER_TITLE, uid=FOLDER_UID)
        log.info("created folder %s", FOLDER_UID)


def ensure_datasource(api: Any, influx: InfluxTarget) -> None:
    body = influx.datasource()
    try:
        api.datasource.get_datasource_by_uid(DATASOURCE_UID)
    except GrafanaClientError as exc:
        if exc.status_code != NOT_FOUND:
            raise
        api.datasource.create_datasource(body)
        log.info("created datasource %s -> %s (bucket %s)", DATASOURCE_UID, influx.url, influx.bucket)
        return
    api.datasource.update_datasource_by_uid(DATASOURCE_UID, body)
    log.info("updated datasource %s -> %s (bucket %s)", DATASOURCE_UID, influx.url, influx.bucket)


def push_dashboards(api: Any) -> list[str]:
    uids = []
    for uid, build in DASHBOARDS.items():
        model = json.loads(render(build()))
        api.dashboard.update_dashboard(
            {
                "dashboard": model,
                "folderUid": FOLDER_UID,
                "overwrite": True,
                "message": "citylab dashboards push",
            }
        )
        log.info("saved dashboard %s", uid)
        uids.append(uid)
    return uids


def push(grafana_url: str, influx: InfluxTarget | None, credential: str | tuple[str, str] | None) -> list[str]:
    """Folder, datasource (unless ``influx`` is None), then every dashboard. Returns the dashboard uids."""
    api = connect(grafana_url, credential)
    try:
        ensure_folder(api)
        if influx is not None:
            ensure_datasource(api, influx)
        return push_dashboards(api)
    except GrafanaException as exc:
        raise PushError(f"Grafana at {grafana_url} refused the request ({exc.status_code}): {exc.message}") from exc
    except niquests.exceptions.RequestException as exc:
        raise PushError(f"Grafana at {grafana_url} is unreachable: {exc}") from exc
