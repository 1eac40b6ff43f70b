"""Storage: line protocol, InfluxDB writers (v1 and v2 APIs), InfluxQL queries and the disk spool."""

from hub.store.influxql import InfluxQLClient, InfluxQLError
from hub.store.line_protocol import reading_to_line
from hub.store.writers import (
    InfluxWriter,
    PermanentWriteError,
    TransientWriteError,
    make_writer,
    writer_from_settings,
)

__all__ = [
    "InfluxQLClient",
    "InfluxQLError",
    "InfluxWriter",
    "PermanentWriteError",
    "TransientWriteError",
    "make_writer",
    "reading_to_line",
    "writer_from_settings",
]
