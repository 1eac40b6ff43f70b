"""Dead letters: every message or reading the hub could not use, kept with its reason, and replayed after a fix.

- ``store``: the SQLite store (``DeadLetter``, ``DeadLetterStore``) the ingest writer commits to before it acks.
- ``replay``: re-runs stored letters through today's codecs and lab configs (``replay``), with the same
  message-to-envelope translation as ingest (hub/ingest/envelope.py).

Only the store is imported here: replay depends on hub.ingest, which depends on the store.
"""

from hub.deadletters.store import DeadLetter, DeadLetterStore

__all__ = ["DeadLetter", "DeadLetterStore"]
