"""Identifiers every layer checks the same way: lab and city slugs, and device ids.

Slugs become InfluxDB tag values, topic levels and URL path segments; device ids come from
payloads and topics, so they are free text within storable bounds.
"""

from __future__ import annotations

import re

SLUG_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
MAX_SLUG_LENGTH = 64
MAX_DEVICE_ID = 128
_SLUG = re.compile(SLUG_PATTERN)
# Control characters and backslashes can't be stored portably in an InfluxDB tag.
_UNSTORABLE = re.compile(r"[\x00-\x1f\x7f\\]")


def is_slug(text: str) -> bool:
    return len(text) <= MAX_SLUG_LENGTH and _SLUG.match(text) is not None


def is_storable_device_id(device: str) -> bool:
    """1..MAX_DEVICE_ID characters, none of them a control character or a backslash."""
    return 0 < len(device) <= MAX_DEVICE_ID and _UNSTORABLE.search(device) is None
