"""What can go wrong when reading, as plain exceptions: each caller maps them to its own responses.

The JSON API answers ``InvalidRequest`` with 400, ``NotFound`` with 404, ``Unavailable`` with 503
and ``QueryRejected`` with 500; the public page and the NGSI-LD API make their own choices.
"""

from __future__ import annotations


class ReadError(Exception):
    """Base of every error the read layer raises. ``str()`` is a message fit for the person who asked."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidRequest(ReadError):
    """The caller asked for something malformed, unknown or over a limit; asking again won't help.

    ``field`` names the request value at fault (``from``, ``every``, ``city``, ``limit``...), so a
    caller can point at it; ``message`` already names it too.
    """

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class UnknownValue(InvalidRequest):
    """A well-formed value that names nothing known (a city or lab not in the lab configs)."""

    def __init__(self, field: str, message: str, known: list[str]) -> None:
        super().__init__(field, message)
        self.known = known


class LimitExceeded(InvalidRequest):
    """A request over one of the configured caps (range, buckets, page size, cities)."""

    def __init__(self, field: str, message: str, limit: int) -> None:
        super().__init__(field, message)
        self.limit = limit


class NotFound(ReadError):
    """A single thing asked for by name (a lab) does not exist."""


class Unavailable(ReadError):
    """InfluxDB can't be reached (or can't answer), or no lab configuration could ever be loaded.

    Not the caller's fault: asking again later may work.
    """


class QueryRejected(ReadError):
    """InfluxDB refused a statement this layer built from validated values: a bug in the hub, not the caller's.

    Validation is meant to make this impossible; the message stays generic (InfluxDB's text goes to the log).
    """
