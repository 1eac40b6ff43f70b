"""``citylab serve``: the ingest service.

paho's network thread runs ``_on_message``: route by topic, decode, normalise, and hand
an envelope to the writer thread, which writes and acks. See docs/architecture.md.
"""

from __future__ import annotations

import logging
import signal
import ssl
import threading
import time
from types import FrameType

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from core.model import RejectCode
from hub.ingest.batcher import BatchWriter, Envelope
from hub.ingest.stats import IngestStats
from hub.labs import LabConfig, load_labs
from hub.normalise import Normaliser
from hub.pipeline import Pipeline
from hub.routing import Router
from hub.settings import Settings
from hub.store.deadletters import DeadLetter, DeadLetterStore
from hub.store.line_protocol import reading_to_line, stats_line
from hub.store.spool import Spool
from hub.store.writers import InfluxWriter, writer_from_settings

log = logging.getLogger(__name__)

# A persistent session outlives a restart of the hub by this much (MQTT v5 only).
SESSION_EXPIRY_S = 7 * 24 * 3600


class IngestService:
    def __init__(
        self, settings: Settings, *, labs: dict[str, LabConfig] | None = None, writer: InfluxWriter | None = None
    ) -> None:
        self.settings = settings
        self.labs = labs if labs is not None else load_labs(settings.labs)
        self.router = Router(self.labs)
        self.pipeline = Pipeline(Normaliser(), max_payload=settings.max_payload_bytes)
        self.stats = IngestStats()
        self.dead_letters = DeadLetterStore(settings.dead_letter_path)
        self.spool = Spool(settings.spool_path) if settings.spool_after_s > 0 else None
        self.writer = writer or writer_from_settings(settings)
        self.mqtt_target = settings.mqtt()
        self.client = self._make_client()
        self.batcher = BatchWriter(
            writer=self.writer,
            dead_letters=self.dead_letters,
            ack=self._ack,
            stats=self.stats,
            batch_size=settings.batch_size,
            linger_s=settings.batch_linger_ms / 1000,
            max_backoff_s=settings.retry_max_backoff_s,
            extra_lines=self._stats_lines,
            spool=self.spool,
            spool_after_s=settings.spool_after_s,
        )
        self._accepting = threading.Event()
        self._stopped = threading.Event()
        self._connected = threading.Event()
        self._last_stats = time.monotonic()

    # --- lifecycle -------------------------------------------------------------------

    def start(self) -> None:
        log.info(
            "starting: %d labs, %d topic filters, MQTT %s, InfluxDB %s (%s API)",
            len(self.labs),
            len(self.router.topic_filters),
            self.mqtt_target.redacted(),
            self.settings.influx_url,
            self.settings.influx_api,
        )
        self.batcher.start()
        self._accepting.set()
        connect_args = {
            "host": self.mqtt_target.host,
            "port": self.mqtt_target.port,
            "keepalive": 30,
            "clean_start": False if self._v5 else mqtt.MQTT_CLEAN_START_FIRST_ONLY,
            "properties": self._connect_properties(),
        }
        try:
            # The first attempt in the foreground, so a wrong host, port or CA is reported with
            # its cause; paho's background reconnects only say that they failed.
            self.client.connect(**connect_args)  # type: ignore[arg-type]
        except (OSError, ValueError) as exc:
            log.error("MQTT connection to %s failed: %s; retrying", self.mqtt_target.redacted(), exc)
            self.client.connect_async(**connect_args)  # type: ignore[arg-type]
        self.client.loop_start()

    def wait_connected(self, timeout_s: float = 10.0) -> bool:
        return self._connected.wait(timeout_s)

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def stop(self, timeout_s: float = 30.0) -> None:
        """Stop taking messages, flush and ack what is in hand, then disconnect."""
        if self._stopped.is_set():
            return
        self._stopped.set()
        self._accepting.clear()
        flushed = self.batcher.stop(timeout_s)
        if not flushed:
            log.warning("stopped before every message was written; the broker will redeliver them")
        self.client.disconnect()
        self.client.loop_stop()
        self.writer.close()
        self.dead_letters.close()
        if self.spool is not None:
            self.spool.close()
        log.info("stopped")

    def run_forever(self) -> None:
        done = threading.Event()

        def _on_signal(signum: int, _frame: FrameType | None) -> None:
            log.info("received %s: flushing and stopping", signal.Signals(signum).name)
            done.set()

        signal.signal(signal.SIGTERM, _on_signal)
        signal.signal(signal.SIGINT, _on_signal)
        self.start()
        done.wait()
        self.stop()

    # --- MQTT ------------------------------------------------------------------------

    @property
    def _v5(self) -> bool:
        return self.settings.mqtt_protocol == "5"

    def _make_client(self) -> mqtt.Client:
        client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=self.settings.mqtt_client_id,
            protocol=mqtt.MQTTv5 if self._v5 else mqtt.MQTTv311,
            clean_session=None if self._v5 else False,
            manual_ack=True,
        )
        client.max_inflight_messages_set(1000)
        client.max_queued_messages_set(0)
        client.reconnect_delay_set(min_delay=1, max_delay=30)
        target = self.mqtt_target
        if target.username:
            client.username_pw_set(target.username, target.password)
        if target.tls:
            client.tls_set(
                ca_certs=str(self.settings.mqtt_ca_file) if self.settings.mqtt_ca_file else None,
                certfile=str(self.settings.mqtt_cert_file) if self.settings.mqtt_cert_file else None,
                keyfile=str(self.settings.mqtt_key_file) if self.settings.mqtt_key_file else None,
                cert_reqs=ssl.CERT_REQUIRED,
            )
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_connect_fail = self._on_connect_fail
        return client

    def _on_connect_fail(self, _client: mqtt.Client, _userdata: object) -> None:
        log.warning("MQTT connection to %s failed; retrying", self.mqtt_target.redacted())

    def _connect_properties(self) -> Properties | None:
        if not self._v5:
            return None
        properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        properties.SessionExpiryInterval = SESSION_EXPIRY_S
        return properties

    def _on_connect(
        self,
        client: mqtt.Client,
        _userdata: object,
        _flags: mqtt.ConnectFlags,
        reason: ReasonCode,
        _properties: Properties | None,
    ) -> None:
        if reason.is_failure:
            log.error("MQTT connection refused: %s", reason)
            return
        filters = [(topic_filter, 1) for topic_filter in self.router.topic_filters]
        if filters:
            client.subscribe(filters)
        log.info("connected to MQTT; subscribed to %d filters at QoS 1", len(filters))
        self._connected.set()

    def _on_disconnect(
        self,
        _client: mqtt.Client,
        _userdata: object,
        _flags: mqtt.DisconnectFlags,
        reason: ReasonCode,
        _properties: Properties | None,
    ) -> None:
        self._connected.clear()
        if not self._stopped.is_set():
            log.warning("MQTT disconnected (%s); reconnecting", reason)

    def _ack(self, mid: int, qos: int) -> None:
        if qos > 0:
            self.client.ack(mid, qos)

    def _on_message(self, _client: mqtt.Client, _userdata: object, message: mqtt.MQTTMessage) -> None:
        if not self._accepting.is_set():
            return  # shutting down: left unacked, so the broker redelivers it
        self.batcher.submit(self.handle(message.topic, bytes(message.payload), message.mid, message.qos))

    # --- the pipeline ----------------------------------------------------------------

    def handle(self, topic: str, payload: bytes, mid: int = 0, qos: int = 0) -> Envelope:
        received_ns = time.time_ns()
        route = self.router.route(topic)
        if route is None:
            letter = DeadLetter(
                received_ns,
                topic,
                None,
                None,
                RejectCode.NO_SOURCE,
                "topic matches no lab source",
                payload,
                len(payload),
            )
            return Envelope(mid, qos, topic, None, dead_letters=[letter])
        lab, source = route.lab, route.source
        processed = self.pipeline.process_routed(route, payload, topic=topic, received_ns=received_ns)
        envelope = Envelope(mid, qos, topic, lab.lab)
        if processed.failure is not None:
            envelope.dead_letters.append(
                DeadLetter(
                    received_ns,
                    topic,
                    lab.lab,
                    source.format,
                    processed.failure.code,
                    processed.failure.detail,
                    payload,
                    len(payload),
                )
            )
        result = processed.result
        envelope.lines = [reading_to_line(reading) for reading in result.readings]
        envelope.dead_letters.extend(
            DeadLetter(
                received_ns, topic, lab.lab, source.format, rejection.code, rejection.detail, payload, len(payload)
            )
            for rejection in result.rejections
        )
        self.stats.message(lab.lab, len(result.readings), len(result.unmapped_keys))
        return envelope

    def _stats_lines(self) -> list[str]:
        """``hub_stats`` points (deltas per interval), so the health dashboard needs no Prometheus."""
        now = time.monotonic()
        if now - self._last_stats < self.settings.stats_interval_s:
            return []
        self._last_stats = now
        delta = self.stats.take_delta()
        time_ns = time.time_ns()
        lines = []
        for lab in sorted(set(delta.messages) | {lab for lab, _ in delta.dead_letters}):
            rejected = sum(n for (where, _), n in delta.dead_letters.items() if where == lab)
            lines.append(
                stats_line(
                    "hub_stats",
                    {"lab": lab},
                    {
                        "messages": delta.messages[lab],
                        "readings": delta.readings[lab],
                        "unmapped": delta.unmapped[lab],
                        "dead_letters": rejected,
                    },
                    time_ns,
                )
            )
        for (lab, reason), count in sorted(delta.dead_letters.items()):
            lines.append(stats_line("hub_stats", {"lab": lab, "reason": reason}, {"rejected": count}, time_ns))
        latencies = delta.write_seconds
        lines.append(
            stats_line(
                "hub_stats",
                {"lab": "_hub"},
                {
                    "batches": delta.batches,
                    "batch_lines": delta.batch_lines,
                    "write_latency_ms": 1000 * sum(latencies) / len(latencies) if latencies else 0.0,
                    "write_latency_max_ms": 1000 * max(latencies) if latencies else 0.0,
                    "write_retries": delta.write_retries,
                    "queue_depth": self.stats.queue_depth,
                    "spool_depth": self.stats.spool_depth,
                },
                time_ns,
            )
        )
        return lines
