"""``citylab serve --retire``: drain a persistent session that should not come back, then end it.

A member of a shared subscription that is gone for good keeps its session at the broker: with
Mosquitto it stays in the round robin, so a share of every new message keeps queueing for it, and
its un-acked messages wait for it. Expiring the session loses them. Retiring it loses nothing:

1. connect with the member's identity (client id, data directory) and subscribe to nothing;
2. unsubscribe its filters: it leaves the group, and new messages go to the other members; what
   the broker already holds for the session (in flight and queued) is still delivered;
3. handle that like any message (write, spool or dead-letter, then ack), and drain its disk spool;
4. once nothing has come for ``idle_s``, the writer has nothing queued and the spool is empty,
   stop as on SIGTERM (flush, ack, confirm the acks);
5. end the session: connect once with a clean session, so the broker forgets it.

Step 5 happens only if step 4 acked everything; otherwise the session is kept, and running
``--retire`` again continues. The same works for the plain (unshared) session of a single
``citylab serve`` that ``--workers`` replaces.
"""

from __future__ import annotations

import logging
import threading
import time

from hub.ingest.mqtt import connect_options, make_client
from hub.ingest.service import IngestService
from hub.ingest.workers import RETIRED_MARK

log = logging.getLogger(__name__)


def retire(
    service: IngestService, *, idle_s: float = 5.0, timeout_s: float = 3600.0, stop: threading.Event | None = None
) -> bool:
    """Drain and end ``service``'s session (see the module's docstring). True once it is ended."""
    consumer = service.consumer
    filters = list(consumer.topic_filters)
    consumer.topic_filters = []  # on (re)connect: subscribe to nothing
    log.info(
        "retiring MQTT client %s: leaving %d filters, draining what the broker holds for it and the disk spool",
        consumer.client_id,
        len(filters),
    )
    service.start()
    if not service.wait_connected(30):
        log.error("retire: could not connect to MQTT; nothing was changed")
        service.stop()
        return False
    if filters:
        consumer.client.unsubscribe(filters)
    deadline = time.monotonic() + timeout_s
    stats = service.stats
    seen = -1
    quiet_since = time.monotonic()
    while True:
        if stop is not None and stop.is_set():
            log.warning("retire interrupted: the session is kept; run --retire again to finish")
            service.stop()
            return False
        handled = sum(stats.total.messages.values()) + sum(n for (lab, _), n in stats.total.dead_letters.items() if lab)
        now = time.monotonic()
        if handled != seen:
            seen, quiet_since = handled, now
        busy = stats.queue_depth > 0 or stats.spool_depth > 0 or stats.write_failing is not None
        if not busy and now - quiet_since >= idle_s:
            break
        if now > deadline:
            log.error(
                "retire: still busy after %.0fs (writer queue %d, spool %d lines, writes failing: %s); the session "
                "is kept, run --retire again",
                timeout_s,
                stats.queue_depth,
                stats.spool_depth,
                stats.write_failing or "no",
            )
            service.stop()
            return False
        time.sleep(0.2)
    if not service.stop():
        log.error("retire: not every message was acked; the session is kept, run --retire again")
        return False
    _end_session(service)
    (service.settings.data_dir / RETIRED_MARK).write_text(
        f"MQTT client {consumer.client_id} retired at {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}\n",
        encoding="utf-8",
    )
    log.info(
        "retired MQTT client %s: its session is ended; its dead letters and unmapped keys stay in %s",
        consumer.client_id,
        service.settings.data_dir,
    )
    return True


def _end_session(service: IngestService) -> None:
    """Connect once with a clean session: the broker discards the persistent one (3.1.1: clean session; v5: clean
    start with a session expiry of 0)."""
    settings = service.settings
    target = settings.mqtt()
    client = make_client(
        target, client_id=settings.mqtt_client_id, protocol=settings.mqtt_protocol, persistent_session=False
    )
    connected = threading.Event()
    client.on_connect = lambda *_args: connected.set()
    clean_start, properties = connect_options(settings.mqtt_protocol, persistent_session=False)
    client.connect(target.host, target.port, 30, clean_start=clean_start, properties=properties)
    client.loop_start()
    try:
        if not connected.wait(10):
            raise RuntimeError("no CONNACK while ending the session")
    finally:
        client.disconnect()
        client.loop_stop()
