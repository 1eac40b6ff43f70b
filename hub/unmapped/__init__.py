"""Keys ingest saw and could not map (or only guessed), per lab and device model: the store the writer
thread fills (``store``); hub/read/unmapped.py lists and explains them."""

from hub.unmapped.record import record_unmapped, sightings
from hub.unmapped.store import FILE_NAME, DroppedRow, Sighting, UnmappedRow, UnmappedStore, sample_of

__all__ = [
    "FILE_NAME",
    "DroppedRow",
    "Sighting",
    "UnmappedRow",
    "UnmappedStore",
    "record_unmapped",
    "sample_of",
    "sightings",
]
