"""An in-process InfluxDB stand-in that stores good lines and refuses poison ones, answering as each version does.

Its answers go through the real ``classify_answer`` (a status and a body, as InfluxDB sends them), so
the tests exercise the same parsing the hub runs against a server. Shapes (reference-notes-2 section 5):

- ``v1``: InfluxDB 1.x ``400 {"error": "partial write: field type conflict: … dropped=N"}``, the rest stored;
- ``v1-parse``: InfluxDB 1.x ``400 {"error": "partial write: unable to parse '<line>': …"}`` per line, rest stored;
- ``v2``: InfluxDB 2.x OSS ``422 {"code": "unprocessable entity", "message": "… partial write: … dropped=N"}``;
- ``v3``: InfluxDB 3 Core ``400 {"error": "partial write of line protocol occurred", "data": [{"original_line",
  "line_number", "error_message"}]}`` for every refused line;
- ``serverless``: Cloud Serverless ``400 {"code": "invalid", "line": N, "message": …}`` naming the first only;
- ``v2-whole``: InfluxDB 2.x OSS ``400`` for malformed data: the whole batch refused, the first bad line named.

``max_lines`` makes it answer 413 to larger batches, as a server with a small body limit does.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field

from hub.store.writers import WriteError, classify_answer

CONFLICT = (
    'field type conflict: input field "value" on measurement "temperature" is type float, '
    "already exists as type integer"
)
IOX_CONFLICT = (
    "invalid column type for column 'value', expected iox::column_type::field::integer, "
    "got iox::column_type::field::float"
)
STYLES = ("v1", "v1-parse", "v2", "v3", "serverless", "v2-whole")


def poison_marker(line: str) -> bool:
    return "poison" in line


@dataclass
class RefusingInflux:
    style: str = "v1"
    is_poison: Callable[[str], bool] = poison_marker
    max_lines: int | None = None
    stored: list[str] = field(default_factory=list)
    requests: list[list[str]] = field(default_factory=list)
    # Raised instead of any answer while set: an outage (e.g. ``unreachable(...)``).
    down: WriteError | None = None
    closed: bool = False

    def write(self, lines: list[str]) -> None:
        self.requests.append(list(lines))
        if self.down is not None:
            raise self.down
        if self.max_lines is not None and len(lines) > self.max_lines:
            raise _answer(413, {"error": "Request Entity Too Large"})
        bad = [number for number, line in enumerate(lines, start=1) if self.is_poison(line)]
        if self.style == "v2-whole" and bad:
            raise _answer(400, {"code": "invalid", "message": f"unable to parse line {bad[0]}", "line": bad[0]})
        self.stored.extend(line for line in lines if not self.is_poison(line))
        if not bad:
            return
        conflict = CONFLICT
        if self.style == "v1":
            raise _answer(400, {"error": f"partial write: {conflict} dropped={len(bad)}"})
        if self.style == "v1-parse":
            text = "\n".join(f"unable to parse '{lines[n - 1]}': invalid field format" for n in bad)
            raise _answer(400, {"error": f"partial write: {text} dropped=0"})
        if self.style == "v2":
            message = f"failure writing points to database: partial write: {conflict} dropped={len(bad)}"
            raise _answer(422, {"code": "unprocessable entity", "message": message})
        if self.style == "v3":
            data = [
                {
                    "original_line": lines[n - 1],
                    "line_number": n,
                    "error_message": IOX_CONFLICT,
                }
                for n in bad
            ]
            raise _answer(400, {"error": "partial write of line protocol occurred", "data": data})
        if self.style == "serverless":
            message = f"partial write has occurred, errors encountered on line(s): line {bad[0]}: {conflict}"
            raise _answer(400, {"code": "invalid", "line": bad[0], "message": message})
        raise AssertionError(f"unknown style {self.style}")

    def close(self) -> None:
        self.closed = True


def _answer(status: int, body: dict[str, object]) -> WriteError:
    error = classify_answer(status, json.dumps(body))
    assert error is not None
    return error
