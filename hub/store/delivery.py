"""Write a batch so that every line ends up stored, or named as refused with InfluxDB's reason for it.

InfluxDB answers a batch as a whole, but decides per point: a field type conflict stores every other
point and says only ``dropped=N`` (1.x ``400``, 2.x ``422``); 3.x names the refused lines; a batch too
large for the server (``413``) must be split. ``write_exactly`` turns those answers into one exact
outcome per line:

- a rejection that names its lines (3.x ``data``, 2.x ``line``, 1.x ``unable to parse '<line>'``):
  those lines are refused, and the rest is written again to confirm it;
- a rejection that does not say which: when it dropped as many points as it was sent, all of them;
  else the batch is split (first by the measurement the answer names, then in halves) and each part
  written again, down to single lines;
- ``413``: halves, down to single lines (a single line that is too large is refused).

Writing a line again is harmless: the same series and time overwrite. Each refused line costs about
two writes per halving, so a few poison points in a batch of thousands take a few dozen small writes.
Outages and held answers (``TransientWriteError``) propagate: the caller keeps the batch and tries again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from hub.store.writers import InfluxWriter, RejectedPointsError, TooLargeError


@dataclass(frozen=True, slots=True)
class LineRejection:
    """Line ``index`` of the batch, refused by InfluxDB for ``reason`` (its words, per point)."""

    index: int
    status: int | None
    reason: str


def write_exactly(writer: InfluxWriter, lines: Sequence[str]) -> list[LineRejection]:
    """Store ``lines``; return the ones InfluxDB refused, in order. Every other line is stored.

    Raises ``TransientWriteError`` when InfluxDB can't take them now; some may be stored already, and
    writing them all again later is safe."""
    refused: dict[int, LineRejection] = {}
    pending: list[list[int]] = [list(range(len(lines)))] if lines else []
    while pending:
        group = pending.pop()
        try:
            writer.write([lines[i] for i in group])
        except TooLargeError as exc:
            if len(group) == 1:
                refused[group[0]] = LineRejection(group[0], exc.status, "too large for InfluxDB (413) on its own")
            else:
                pending.extend(reversed(_halves(group)))
        except RejectedPointsError as exc:
            named = _named(exc, group, lines)
            if named:
                refused.update(named)
                rest = [i for i in group if i not in named]
                if rest:
                    pending.append(rest)  # stored already, unless a line the answer did not name was refused too
            elif len(group) == 1 or exc.dropped == len(group):
                refused.update((i, LineRejection(i, exc.status, exc.reason)) for i in group)
            else:
                pending.extend(reversed(_split(group, lines, exc.measurement)))
    return [refused[index] for index in sorted(refused)]


def _named(exc: RejectedPointsError, group: list[int], lines: Sequence[str]) -> dict[int, LineRejection]:
    """The group's lines the answer names, by number (1-based, within what was sent) or by text."""
    named: dict[int, LineRejection] = {}
    for item in exc.named:
        index: int | None = None
        if item.number is not None and 1 <= item.number <= len(group):
            candidate = group[item.number - 1]
            if item.text is None or lines[candidate] == item.text:
                index = candidate
        if index is None and item.text is not None:
            index = next((i for i in group if lines[i] == item.text and i not in named), None)
        if index is not None:
            named[index] = LineRejection(index, exc.status, item.reason)
    return named


def _halves(group: list[int]) -> list[list[int]]:
    middle = len(group) // 2
    return [group[:middle], group[middle:]]


def _split(group: list[int], lines: Sequence[str], measurement: str | None) -> list[list[int]]:
    """The lines of the measurement the answer names apart from the others (when both are there), else halves."""
    if measurement is not None:
        suspects = [i for i in group if measurement_of(lines[i]) == measurement]
        if 0 < len(suspects) < len(group):
            chosen = set(suspects)
            return [suspects, [i for i in group if i not in chosen]]
    return _halves(group)


def measurement_of(line: str) -> str:
    """A line's measurement, unescaped: up to its first unescaped comma or space."""
    name: list[str] = []
    escaped = False
    for char in line:
        if escaped:
            name.append(char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char in ", ":
            break
        else:
            name.append(char)
    return "".join(name)
