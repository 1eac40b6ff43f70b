"""The NGSI-LD forwarder: a bounded queue fed after readings are written, and a sender thread.

``offer()`` never blocks ingest: it only appends to a bounded queue under a lock. When the queue is
full, it is compacted to the latest value per entity attribute (what an upsert of the latest
entities needs) and the dropped older values are counted as *coalesced*; if every queued value is
already the latest of its attribute, the offered value replaces the queued one of its attribute, or,
for a new attribute, is dropped and counted. The sender batches up to ``batch_size`` entities per
``POST /ngsi-ld/v1/entityOperations/upsert?options=update``, retries transport errors, 429 and 5xx
with exponential backoff (the batch stays first in line), and counts what the broker refuses
(400 ProblemDetails, or the errors of a 207 BatchOperationResult) as failed, with the reason logged.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import httpx

from core.model import Reading
from hub.forward.config import NgsiLdForward
from hub.labs import LabConfig
from hub.ngsi.contexts import OFFICIAL_CORE
from hub.ngsi.entities import DeviceKey, EntityState, Observation, Place, entity_id, render_entity
from hub.ngsi.mapping import AttributeMap, load_mapping

log = logging.getLogger(__name__)
CORE_CONTEXT = OFFICIAL_CORE[-1]


@dataclass(slots=True)
class ForwardStats:
    offered: int = 0  # attribute values handed to the forwarder
    sent: int = 0  # attribute values the broker accepted
    failed: int = 0  # attribute values the broker refused
    coalesced: int = 0  # older values replaced by a newer one of the same attribute while the queue was full
    dropped: int = 0  # values of new attributes refused while the queue was full of latest values
    not_exposed: int = 0  # readings of quantities NGSI-LD does not carry (hub/ngsi/tables/sdm.yaml)
    retries: int = 0
    batches: int = 0
    queue_depth: int = 0
    last_error: str = ""


@dataclass(frozen=True, slots=True)
class _Item:
    entity: str  # entity id
    attribute: str
    mapped: AttributeMap
    key: DeviceKey
    observation: Observation
    lat: float | None
    lon: float | None


@dataclass(slots=True)
class _Batch:
    items: list[_Item] = field(default_factory=list)


class NgsiLdForwarder:
    """Forwards one lab's readings to its city's NGSI-LD broker."""

    def __init__(self, lab: LabConfig, config: NgsiLdForward, *, transport: httpx.BaseTransport | None = None) -> None:
        self.lab = lab
        self.config = config
        self.stats = ForwardStats()
        self._mapping = load_mapping()
        self._queue: collections.deque[_Item] = collections.deque()
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"citylab-forward-{lab.lab}", daemon=True)
        headers = {"Accept": "application/json"}
        token = config.token()
        if token is not None:
            headers["Authorization"] = f"Bearer {token.get_secret_value()}"
        if config.tenant:
            headers["NGSILD-Tenant"] = config.tenant
        self._client = httpx.Client(
            headers=headers, auth=config.basic_auth(), timeout=config.timeout_s, transport=transport
        )

    # --- the ingest side: never blocks ------------------------------------------------------------------

    def offer(self, readings: Iterable[Reading]) -> None:
        items = []
        for reading in readings:
            mapped = self._mapping.by_quantity.get(reading.quantity)
            if mapped is None:
                self.stats.not_exposed += 1
                continue
            key = DeviceKey(reading.city or self.lab.city, reading.lab or self.lab.lab, reading.device)
            items.append(
                _Item(
                    entity_id(mapped.entity_type.name, key),
                    mapped.attribute,
                    mapped,
                    key,
                    Observation(reading.time_ns, reading.value),
                    reading.lat,
                    reading.lon,
                )
            )
        if not items:
            return
        with self._wake:
            for item in items:
                self._enqueue(item)
            self.stats.offered += len(items)
            self.stats.queue_depth = len(self._queue)
            self._wake.notify()

    def _enqueue(self, item: _Item) -> None:
        if len(self._queue) < self.config.queue_size:
            self._queue.append(item)
            return
        self._compact()
        if len(self._queue) < self.config.queue_size:
            self._queue.append(item)
            return
        for index, queued in enumerate(self._queue):
            if (queued.entity, queued.attribute) == (item.entity, item.attribute):
                if item.observation.time_ns >= queued.observation.time_ns:
                    self._queue[index] = item
                self.stats.coalesced += 1
                return
        self.stats.dropped += 1
        if self.stats.dropped == 1 or self.stats.dropped % 1000 == 0:
            log.warning(
                "forward %s: queue full of %d latest values; %d values of new attributes dropped so far",
                self.lab.lab,
                len(self._queue),
                self.stats.dropped,
            )

    def _compact(self) -> None:
        latest: dict[tuple[str, str], _Item] = {}
        for item in self._queue:
            key = (item.entity, item.attribute)
            known = latest.get(key)
            if known is None or item.observation.time_ns >= known.observation.time_ns:
                latest[key] = item
        self.stats.coalesced += len(self._queue) - len(latest)
        self._queue = collections.deque(latest.values())

    # --- the sender thread ----------------------------------------------------------------------------

    def start(self) -> None:
        log.info("forwarding %s to the NGSI-LD broker at %s", self.lab.lab, self.config.masked_url)
        self._thread.start()

    def stop(self, timeout_s: float = 10.0) -> bool:
        """Send what is queued (until the deadline), then stop. True when the queue was emptied."""
        self._deadline = time.monotonic() + timeout_s
        self._stopping.set()
        with self._wake:
            self._wake.notify()
        self._thread.join(timeout_s + 2)
        self._client.close()
        return not self._queue

    _deadline: float = float("inf")

    def _run(self) -> None:
        backoff = 0.2
        pending: list[_Item] = []
        while True:
            if not pending:
                pending = self._take()
            if not pending:
                if self._stopping.is_set():
                    return
                continue
            outcome = self._send(pending)
            if outcome == "retry":
                self.stats.retries += 1
                if self._stopping.is_set() and time.monotonic() + backoff > self._deadline:
                    log.warning("forward %s: stopping with %d values unsent", self.lab.lab, len(pending))
                    with self._lock:
                        self._queue.extendleft(reversed(pending))
                    return
                self._stopping.wait(backoff)
                backoff = min(backoff * 2, self.config.max_backoff_s)
                continue
            backoff = 0.2
            pending = []

    def _take(self) -> list[_Item]:
        with self._wake:
            if not self._queue and not self._stopping.is_set():
                self._wake.wait(0.5)
            if not self._queue:
                return []
            if len(self._queue) < self.config.batch_size and not self._stopping.is_set() and self.config.linger_s:
                self._wake.wait(self.config.linger_s)
            batch: list[_Item] = []
            entities: set[str] = set()
            seen: set[tuple[str, str]] = set()
            while self._queue:
                item = self._queue[0]
                if (item.entity, item.attribute) in seen:
                    break  # an older and a newer value of one attribute go in separate upserts, in order
                if item.entity not in entities and len(entities) == self.config.batch_size:
                    break
                self._queue.popleft()
                batch.append(item)
                entities.add(item.entity)
                seen.add((item.entity, item.attribute))
            self.stats.queue_depth = len(self._queue)
            return batch

    def _entities(self, items: list[_Item]) -> list[dict[str, Any]]:
        states: dict[str, EntityState] = {}
        for item in items:
            state = states.get(item.entity)
            if state is None:
                lat = item.lat if item.lat is not None else self.lab.location.lat
                lon = item.lon if item.lon is not None else self.lab.location.lon
                place = Place(lat, lon, self.lab.city_name, self.lab.country, self.lab.name)
                state = states[item.entity] = EntityState(item.mapped.entity_type, item.key, place)
            state.latest[item.attribute] = (item.mapped, item.observation)
        entities = []
        for state in states.values():
            entity = render_entity(state, "normalized")
            if self.config.context is None:
                entity["@context"] = [state.entity_type.context, CORE_CONTEXT]
            entities.append(entity)
        return entities

    def _send(self, items: list[_Item]) -> str:
        entities = self._entities(items)
        headers = {}
        if self.config.context is None:
            headers["Content-Type"] = "application/ld+json"
        else:
            headers["Content-Type"] = "application/json"
            headers["Link"] = (
                f'<{self.config.context}>; rel="http://www.w3.org/ns/json-ld#context"; type="application/ld+json"'
            )
        self.stats.batches += 1
        try:
            response = self._client.post(
                self.config.endpoint, params={"options": "update"}, json=entities, headers=headers
            )
        except httpx.HTTPError as exc:
            self._error(f"{type(exc).__name__} talking to {self.config.masked_url}")
            return "retry"
        status = response.status_code
        if status in (200, 201, 204):
            self.stats.sent += len(items)
            return "done"
        if status == 207:
            return self._partial(items, response)
        if status == 429 or status >= 500:
            self._error(f"the broker answered {status}: {_problem(response)}")
            return "retry"
        self.stats.failed += len(items)
        self._error(f"the broker refused {len(entities)} entities with {status}: {_problem(response)}")
        return "done"

    def _partial(self, items: list[_Item], response: httpx.Response) -> str:
        try:
            result = response.json()
            errors = {e["entityId"]: e.get("error", {}) for e in result.get("errors", []) if isinstance(e, dict)}
        except (ValueError, KeyError, AttributeError, TypeError):
            errors = {}
            result = None
        if not isinstance(result, dict):
            self._error("the broker answered 207 without a BatchOperationResult")
            self.stats.failed += len(items)
            return "done"
        retry = [item for item in items if errors.get(item.entity, {}).get("status", 0) >= 500]
        refused = [item for item in items if item.entity in errors and item not in retry]
        self.stats.sent += len(items) - len(retry) - len(refused)
        self.stats.failed += len(refused)
        if refused:
            entity = refused[0].entity
            self._error(
                f"the broker refused {len({i.entity for i in refused})} entities, e.g. {entity}: "
                f"{_describe(errors[entity])}"
            )
        if retry:
            with self._lock:
                self._queue.extendleft(reversed(retry))
        return "done"

    def _error(self, message: str) -> None:
        self.stats.last_error = message
        log.warning("forward %s: %s", self.lab.lab, message)


def _describe(problem: Any) -> str:
    if not isinstance(problem, dict):
        return "no ProblemDetails"
    kind = str(problem.get("type", "")).rsplit("/", 1)[-1]
    detail = problem.get("detail") or problem.get("title") or ""
    return f"{kind} {str(detail)[:200]}".strip()


def _problem(response: httpx.Response) -> str:
    try:
        return _describe(response.json())
    except ValueError:
        return response.text[:200]


class Forwarding:
    """Every lab's forwarder; the ingest service offers it each batch of readings once they are written."""

    def __init__(self, forwarders: dict[str, NgsiLdForwarder]) -> None:
        self.forwarders = forwarders

    @classmethod
    def from_labs(cls, labs: dict[str, LabConfig]) -> Forwarding:
        return cls({name: NgsiLdForwarder(lab, lab.forward) for name, lab in labs.items() if lab.forward is not None})

    def offer(self, readings: Iterable[Reading]) -> None:
        by_lab: dict[str, list[Reading]] = {}
        for reading in readings:
            if reading.lab in self.forwarders:
                by_lab.setdefault(reading.lab, []).append(reading)
        for lab, batch in by_lab.items():
            self.forwarders[lab].offer(batch)

    def start(self) -> None:
        for forwarder in self.forwarders.values():
            forwarder.start()

    def stop(self, timeout_s: float = 10.0) -> bool:
        return all([forwarder.stop(timeout_s) for forwarder in self.forwarders.values()])
