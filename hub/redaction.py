"""Secrets never reach a log line: every record is scrubbed of the configured secrets before it is written.

URLs are masked where they are shown (``hub.settings.redact_url``); this filter is the net under that:
a secret that reaches a log line some other way (an exception's text, a library's debug output, a URL
with credentials echoed back by a server) is replaced by ``***`` too.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

MASK = "***"


class SecretScrubber(logging.Filter):
    """Replaces each secret in a record's rendered message (and its exception text) with ``***``."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        # Longest first, so that a secret containing another is masked whole.
        self.secrets = sorted({secret for secret in secrets if len(secret) >= 3}, key=len, reverse=True)

    def scrub(self, text: str) -> str:
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        message = record.getMessage()
        scrubbed = self.scrub(message)
        if scrubbed != message:
            record.msg, record.args = scrubbed, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.scrub(record.exc_text)
        return True


def install_secret_scrubber(secrets: Iterable[str], logger: logging.Logger | None = None) -> SecretScrubber:
    """Scrub ``secrets`` from every record the handlers of ``logger`` (the root logger) write."""
    target = logger or logging.getLogger()
    scrubber = SecretScrubber(secrets)
    for handler in target.handlers:
        handler.addFilter(scrubber)
    return scrubber
