"""Writers to InfluxDB: the v2 write API (influxdb-client) or the v1 ``/write`` endpoint.

Both take already-encoded line protocol and raise ``TransientWriteError`` (retry: the
server is down, busy or failing) or ``PermanentWriteError`` (the data is refused). Which
InfluxDB answer is which is decided in one place, ``classify_answer``; the batcher
(hub/ingest/batcher.py) decides what each class means for the MQTT messages behind a batch.
"""

from __future__ import annotations

import gzip
from typing import Protocol

import httpx

from hub.settings import Settings


class WriteError(RuntimeError):
    """A write that did not store the batch. ``status`` is InfluxDB's HTTP answer (None: no answer at all)."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class TransientWriteError(WriteError):
    """Worth retrying: connection refused, timeout, 5xx, 429."""


class PermanentWriteError(WriteError):
    """The server refused the data itself (4xx); retrying won't help."""


class InfluxWriter(Protocol):
    def write(self, lines: list[str]) -> None:
        """Store every line, or raise ``TransientWriteError`` / ``PermanentWriteError``."""
        ...

    def close(self) -> None: ...


def classify_answer(status: int, body: str) -> WriteError:
    """The error for an InfluxDB answer other than 204: 429 and 5xx are transient, every other status permanent."""
    summary = f"InfluxDB answered {status}: {body.strip()[:300]}"
    if status == 429 or status >= 500:
        return TransientWriteError(summary, status=status)
    return PermanentWriteError(summary, status=status)


def unreachable(exc: Exception) -> TransientWriteError:
    """No answer at all (refused, reset, timed out): transient."""
    return TransientWriteError(f"InfluxDB unreachable: {type(exc).__name__}: {exc}")


class V1Writer:
    """InfluxDB 1.x ``POST /write?db=&precision=ns``, gzip-compressed."""

    def __init__(
        self,
        url: str,
        database: str,
        *,
        username: str | None = None,
        password: str | None = None,
        retention_policy: str | None = None,
        timeout_s: float = 30.0,
    ) -> None:
        params = {"db": database, "precision": "ns"}
        if retention_policy:
            params["rp"] = retention_policy
        auth = (username, password or "") if username else None
        self._client = httpx.Client(base_url=url.rstrip("/"), params=params, auth=auth, timeout=timeout_s)

    def write(self, lines: list[str]) -> None:
        body = gzip.compress("\n".join(lines).encode("utf-8"), compresslevel=1)
        try:
            response = self._client.post(
                "/write",
                content=body,
                headers={"Content-Encoding": "gzip", "Content-Type": "text/plain; charset=utf-8"},
            )
        except httpx.HTTPError as exc:
            raise unreachable(exc) from exc
        if response.status_code != 204:
            raise classify_answer(response.status_code, response.text)

    def close(self) -> None:
        self._client.close()


class V2Writer:
    """``/api/v2/write`` through influxdb-client (InfluxDB 1.8+, 2.x, 3.x), synchronous, gzip.

    The client's own batching mode writes from one background thread and can't tell us
    when a batch is stored; our batcher must know that before it acks MQTT messages.
    """

    def __init__(self, url: str, *, token: str, org: str, bucket: str, timeout_s: float = 30.0) -> None:
        from influxdb_client.client.influxdb_client import InfluxDBClient
        from influxdb_client.client.write_api import SYNCHRONOUS

        self._bucket, self._org = bucket, org
        self._client = InfluxDBClient(url=url, token=token, org=org, enable_gzip=True, timeout=int(timeout_s * 1000))
        self._api = self._client.write_api(write_options=SYNCHRONOUS)

    def write(self, lines: list[str]) -> None:
        from influxdb_client.domain.write_precision import WritePrecision
        from influxdb_client.rest import ApiException
        from urllib3.exceptions import HTTPError as Urllib3Error

        try:
            self._api.write(
                bucket=self._bucket,
                org=self._org,
                record="\n".join(lines),
                write_precision=WritePrecision.NS,  # type: ignore[arg-type]
            )
        except ApiException as exc:
            raise classify_answer(int(exc.status or 0), str(exc.body or exc.reason)) from exc
        except (Urllib3Error, OSError) as exc:
            raise unreachable(exc) from exc

    def close(self) -> None:
        self._client.close()  # type: ignore[no-untyped-call]


def writer_from_settings(settings: Settings) -> InfluxWriter:
    """The writer ``CITYLAB_INFLUX_*`` describes."""
    return make_writer(
        api=settings.influx_api,
        url=settings.influx_url,
        bucket=settings.influx_bucket,
        org=settings.influx_org,
        token=settings.influx_token.get_secret_value() if settings.influx_token else None,
        username=settings.influx_username,
        password=settings.influx_password.get_secret_value() if settings.influx_password else None,
    )


def make_writer(
    *,
    api: str,
    url: str,
    bucket: str,
    org: str | None = None,
    token: str | None = None,
    username: str | None = None,
    password: str | None = None,
) -> InfluxWriter:
    if api == "v1":
        database, _, retention = bucket.partition("/")
        return V1Writer(url, database, username=username, password=password, retention_policy=retention or None)
    if api == "v2":
        if token is None and username:
            token = f"{username}:{password or ''}"  # InfluxDB 1.8's v2 compatibility token
        return V2Writer(url, token=token or "", org=org or "-", bucket=bucket)
    raise ValueError(f"unknown InfluxDB API {api!r}: use v1 or v2")
