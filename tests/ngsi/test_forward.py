"""The NGSI-LD forwarder against a local HTTP server (``city_broker``) that answers as the spec's examples do.

ETSI GS CIM 009 clause 5.6.8 (Batch Entity Upsert): 201 with the ids created, 204 when all were
updated, 207 with a BatchOperationResult ``{"success": [...], "errors": [{"entityId", "error":
ProblemDetails}]}``, 400 with a ProblemDetails. The server is a real HTTP server on loopback.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from core.model import Reading
from hub.devstack import free_port
from hub.forward.config import NgsiLdForward
from hub.forward.forwarder import Forwarding, NgsiLdForwarder
from hub.labs import LabConfigError, load_lab, load_labs
from tests.conftest import LABS_DIR
from tests.ngsi.conftest import reading
from tests.ngsi.test_schemas import assert_valid, key_values
from tests.support.influx import wait_for_rows
from tests.support.mqtt import publish_all
from tests.support.payloads import AARHUS_TOPIC, ttn_uplink

SECRET = "s3cret-token-never-logged"
LAB = load_labs(LABS_DIR)["aarhus-city-lab"]


@dataclass
class Broker:
    """Records every request; ``answer`` decides each response from the request's entities."""

    url: str
    requests: list[dict[str, Any]] = field(default_factory=list)
    answer: Callable[[list[dict[str, Any]]], tuple[int, Any]] = lambda entities: (204, None)
    delay_s: float = 0.0


@pytest.fixture
def city_broker() -> Iterator[Broker]:
    state = Broker(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            state.requests.append({"path": self.path, "headers": dict(self.headers), "entities": body})
            time.sleep(state.delay_s)
            status, payload = state.answer(body)
            data = b"" if payload is None else json.dumps(payload).encode()
            self.send_response(status)
            if data:
                self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


def config(url: str, **extra: Any) -> NgsiLdForward:
    return NgsiLdForward.model_validate({"format": "ngsi-ld", "url": url, "linger_s": 0.05, **extra})


def pm25(device: str, value: float, hour: int = 0) -> Reading:
    return reading("aarhus", "aarhus-city-lab", device, "pm25", value, f"2026-03-01T{hour:02d}:00:00Z", 56.1, 10.2)


def wait_for(predicate: Callable[[], bool], timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_upserts_batches_of_valid_smart_data_models_entities(city_broker, monkeypatch):
    monkeypatch.setenv("CITY_BROKER_TOKEN", SECRET)
    forwarder = NgsiLdForwarder(LAB, config(city_broker.url, tenant="aarhus", token_env="CITY_BROKER_TOKEN"))
    forwarder.start()
    forwarder.offer(
        [
            pm25("lamp-1", 12.0),
            reading("aarhus", "aarhus-city-lab", "lamp-1", "relativeHumidity", 55.0, "2026-03-01T00:00:00Z"),
            reading("aarhus", "aarhus-city-lab", "harbour-1", "waterLevel", 0.5, "2026-03-01T00:00:00Z"),
        ]
    )
    assert forwarder.stop()
    [request] = city_broker.requests
    assert request["path"] == "/ngsi-ld/v1/entityOperations/upsert?options=update"
    assert request["headers"]["Content-Type"] == "application/ld+json"
    assert request["headers"]["Authorization"] == f"Bearer {SECRET}"
    assert request["headers"]["NGSILD-Tenant"] == "aarhus"
    by_type = {e["type"]: e for e in request["entities"]}
    assert set(by_type) == {"AirQualityObserved", "WeatherObserved"}
    air = by_type["AirQualityObserved"]
    assert air["id"] == "urn:ngsi-ld:AirQualityObserved:aarhus:aarhus-city-lab:lamp-1"
    assert air["pm25"] == {"type": "Property", "value": 12.0, "observedAt": "2026-03-01T00:00:00Z", "unitCode": "GQ"}
    assert air["@context"][0].endswith("dataModel.Environment/master/context.jsonld")
    assert by_type["WeatherObserved"]["relativeHumidity"]["value"] == 0.55
    assert by_type["WeatherObserved"]["location"]["value"]["coordinates"] == [10.2107, 56.1572]  # the lab's
    for entity in request["entities"]:
        assert_valid(key_values(entity))
    assert (forwarder.stats.sent, forwarder.stats.failed, forwarder.stats.not_exposed) == (2, 0, 1)


def test_a_context_link_instead_of_an_inline_context(city_broker):
    link = "https://city_broker.city.example/contexts/city.jsonld"
    forwarder = NgsiLdForwarder(LAB, config(city_broker.url, context=link))
    forwarder.start()
    forwarder.offer([pm25("lamp-1", 1.0)])
    assert forwarder.stop()
    request = city_broker.requests[0]
    assert request["headers"]["Content-Type"] == "application/json"
    assert request["headers"]["Link"].startswith(f'<{link}>; rel="http://www.w3.org/ns/json-ld#context"')
    assert "@context" not in request["entities"][0]


def test_207_counts_refused_entities_and_does_not_resend_them(city_broker, caplog):
    def answer(entities):
        bad = [e["id"] for e in entities if e["id"].endswith(":bad")]
        return 207, {
            "success": [e["id"] for e in entities if e["id"] not in bad],
            "errors": [
                {
                    "entityId": i,
                    "error": {
                        "type": "https://uri.etsi.org/ngsi-ld/errors/BadRequestData",
                        "title": "Bad request data",
                        "status": 400,
                        "detail": "pm25 out of range",
                    },
                }
                for i in bad
            ],
        }

    city_broker.answer = answer
    forwarder = NgsiLdForwarder(LAB, config(city_broker.url))
    forwarder.start()
    with caplog.at_level(logging.WARNING):
        forwarder.offer([pm25("good", 1.0), pm25("bad", 2.0)])
        assert forwarder.stop()
    assert len(city_broker.requests) == 1
    assert (forwarder.stats.sent, forwarder.stats.failed) == (1, 1)
    assert "BadRequestData pm25 out of range" in caplog.text


def test_400_problem_details_fail_the_batch_with_the_reason(city_broker, caplog):
    city_broker.answer = lambda entities: (
        400,
        {
            "type": "https://uri.etsi.org/ngsi-ld/errors/InvalidRequest",
            "title": "Invalid request",
            "status": 400,
            "detail": "not an array",
        },
    )
    forwarder = NgsiLdForwarder(LAB, config(city_broker.url))
    forwarder.start()
    with caplog.at_level(logging.WARNING):
        forwarder.offer([pm25("a", 1.0), pm25("b", 2.0)])
        assert forwarder.stop()
    assert forwarder.stats.failed == 2 and forwarder.stats.sent == 0
    assert "InvalidRequest not an array" in forwarder.stats.last_error


def test_unavailable_broker_is_retried_with_backoff_and_nothing_is_lost(city_broker, caplog):
    answers = iter([(503, None), (503, None), (201, ["urn:ngsi-ld:AirQualityObserved:aarhus:aarhus-city-lab:a"])])
    city_broker.answer = lambda entities: next(answers, (204, None))
    secret_url = city_broker.url.replace("http://", f"http://user:{SECRET}@")
    forwarder = NgsiLdForwarder(LAB, config(secret_url, max_backoff_s=0.2))
    with caplog.at_level(logging.INFO):
        forwarder.start()
        forwarder.offer([pm25("a", 1.0)])
        wait_for(lambda: forwarder.stats.sent == 1)
        assert forwarder.stop()
    assert len(city_broker.requests) == 3
    assert all(r["entities"] == city_broker.requests[0]["entities"] for r in city_broker.requests)
    assert forwarder.stats.retries == 2
    assert city_broker.requests[0]["headers"]["Authorization"].startswith("Basic ")  # user info, sent as a header
    assert SECRET not in caplog.text
    assert "http://***@127.0.0.1" in caplog.text


def test_offer_never_blocks_and_a_full_queue_keeps_the_latest_value_per_attribute(city_broker):
    city_broker.delay_s = 0.5  # a slow city_broker: the queue fills while the first batch is in flight
    forwarder = NgsiLdForwarder(LAB, config(city_broker.url, queue_size=10, batch_size=1, linger_s=0))
    forwarder.start()
    wait_for(lambda: forwarder._thread.is_alive())
    forwarder.offer([pm25("first", 1.0)])
    wait_for(lambda: len(city_broker.requests) == 1)
    started = time.monotonic()
    for hour in range(20):
        forwarder.offer([pm25(f"d{device}", float(hour), hour) for device in range(3)])
    assert time.monotonic() - started < 0.2  # 60 offers while the city broker sleeps
    assert forwarder.stop(timeout_s=10)
    sent = [(e["name"]["value"], e["pm25"]["value"]) for r in city_broker.requests for e in r["entities"]]
    # Each device's last value (hour 19) reached the city broker; every older value was either sent or counted.
    assert {value for name, value in sent if name == "d0"} >= {19.0}
    stats = forwarder.stats
    assert stats.offered == 61
    assert stats.sent + stats.coalesced + stats.dropped == 61
    assert stats.coalesced > 0 and stats.dropped == 0


def test_forwarding_routes_readings_to_their_lab(city_broker):
    lab = LAB.model_copy(update={"forward": config(city_broker.url)})
    forwarding = Forwarding({"aarhus-city-lab": NgsiLdForwarder(lab, lab.forward)})
    forwarding.start()
    other = reading("copenhagen", "copenhagen-street-lab", "x", "pm25", 1.0, "2026-03-01T00:00:00Z")
    forwarding.offer([pm25("a", 1.0), other])
    assert forwarding.stop()
    assert [e["name"]["value"] for r in city_broker.requests for e in r["entities"]] == ["a"]


def test_lab_config_forward_section(tmp_path: Path):
    data = yaml.safe_load((LABS_DIR / "aarhus-city-lab.yaml").read_text())
    data["forward"] = {"format": "ngsi-ld", "url": "https://city_broker.aarhus.example", "token_env": "AARHUS_BROKER"}
    path = tmp_path / "aarhus-city-lab.yaml"
    path.write_text(yaml.safe_dump(data))
    lab = load_lab(path)
    assert lab.forward is not None and lab.forward.endpoint.endswith("/ngsi-ld/v1/entityOperations/upsert")
    assert Forwarding.from_labs({"x": lab.model_copy(update={"forward": None})}).forwarders == {}
    data["forward"] = {"format": "ngsi-ld", "url": "ftp://broker", "token": SECRET}
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(LabConfigError) as error:
        load_lab(path)
    message = str(error.value)
    assert f"{path}: forward.url" in message and "forward.token" in message
    assert SECRET not in message


@pytest.mark.integration
def test_citylab_serve_forwards_what_it_stored_to_the_citys_broker(
    city_broker, broker, hub_factory, tmp_path, influxql
):
    """Real ingest, Mosquitto (``broker``) and InfluxDB: a lab with `forward:` pushes what it stored to its city."""
    labs = tmp_path / "labs"
    labs.mkdir()
    data = yaml.safe_load((LABS_DIR / "aarhus-city-lab.yaml").read_text())
    data["forward"] = {"format": "ngsi-ld", "url": city_broker.url, "linger_s": 0.05}
    (labs / "aarhus-city-lab.yaml").write_text(yaml.safe_dump(data))
    api_port = free_port()
    hub_factory(labs=labs, extra_env={"CITYLAB_API_PORT": str(api_port)})
    publish_all(
        broker.port,
        [(AARHUS_TOPIC.format(device="lamp-9"), ttn_uplink("lamp-9", {"pm2_5": 8.5}, "2026-03-01T10:00:00Z"))],
    )
    wait_for_rows(influxql, 'SELECT "value" FROM pm25', 1)
    wait_for(lambda: any(r["entities"] for r in city_broker.requests))
    [entity] = [e for r in city_broker.requests for e in r["entities"]]
    assert entity["id"] == "urn:ngsi-ld:AirQualityObserved:aarhus:aarhus-city-lab:lamp-9"
    assert entity["pm25"]["value"] == 8.5 and entity["pm25"]["observedAt"] == "2026-03-01T10:00:00Z"
    wait_for(lambda: 'citylab_forward_sent_total{lab="aarhus-city-lab"} 1.0' in metrics(api_port))


def metrics(port: int) -> str:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=2).text
    except httpx.HTTPError:
        return ""
