"""MQTT ingest: subscribe, decode, normalise, batch, write, then acknowledge."""

from hub.ingest.batcher import BatchWriter, Envelope
from hub.ingest.service import IngestService
from hub.ingest.stats import IngestStats

__all__ = ["BatchWriter", "Envelope", "IngestService", "IngestStats"]
