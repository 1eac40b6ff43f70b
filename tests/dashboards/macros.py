"""What Grafana does to a dashboard query before it reaches InfluxDB, for the contract tests.

Grafana's InfluxDB datasource replaces ``$timeFilter`` with ``time >= <from>ms and time <=
<to>ms`` and ``$__interval`` with the panel's bucket, then interpolates variables: a
single value as it is; inside a regex (``/^$device$/``) values are regex-escaped and
several become ``(a|b)``; ``${var:doublequote}`` becomes ``"a","b"``. Anything else this
module does not model is an error, so a query can't pass by being half-expanded.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

# Grafana's escapeRegex: these characters get a backslash.
_REGEX_SPECIAL = re.compile(r"[\\^$*+?.()|\[\]{}/]")
_VARIABLE = re.compile(r"\$\{(?P<braced>\w+)(?::(?P<format>\w+))?\}|\$(?P<plain>\w+)")
_REGEX_LITERAL = re.compile(r"/(?:\\.|[^/\\\n])*/")
_DURATION = re.compile(r"^(\d+)([smhdw])$")
_UNIT_MS = {"s": 1_000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}


class UnexpandedError(AssertionError):
    pass


def duration_ms(text: str) -> int:
    match = _DURATION.match(text)
    if match is None:
        raise ValueError(f"not a Grafana duration: {text!r}")
    return int(match.group(1)) * _UNIT_MS[match.group(2)]


def escape_regex(value: str) -> str:
    return _REGEX_SPECIAL.sub(lambda m: "\\" + m.group(0), value)


@dataclass(frozen=True)
class QueryContext:
    from_ms: int
    to_ms: int
    interval: str = "1h"
    variables: Mapping[str, Sequence[str]] = field(default_factory=dict)

    def with_time_from(self, time_from: str | None) -> QueryContext:
        """A panel's relative-time override (``timeFrom: 30d``): the range ends now and starts that far back."""
        if not time_from:
            return self
        return QueryContext(self.to_ms - duration_ms(time_from), self.to_ms, self.interval, self.variables)

    def expand(self, query: str) -> str:
        text = query.replace("$timeFilter", f"time >= {self.from_ms}ms and time <= {self.to_ms}ms")
        text = text.replace("$__interval", self.interval)
        # Regex literals first: there values are escaped and alternatives grouped.
        text = _REGEX_LITERAL.sub(lambda m: self._substitute(m.group(0), in_regex=True), text)
        text = self._substitute(text, in_regex=False)
        if _VARIABLE.search(text):
            raise UnexpandedError(f"left unexpanded: {text!r}")
        return text

    def _substitute(self, text: str, *, in_regex: bool) -> str:
        def replace(match: re.Match[str]) -> str:
            name = match.group("braced") or match.group("plain")
            if name not in self.variables:
                return match.group(0)
            values = list(self.variables[name])
            if not values:
                raise UnexpandedError(f"${name} has no value")
            fmt = match.group("format")
            if fmt == "doublequote":
                return ",".join('"' + v.replace('"', '\\"') + '"' for v in values)
            if fmt is not None:
                raise UnexpandedError(f"format {fmt!r} of ${name} is not modelled")
            if in_regex:
                escaped = [escape_regex(v) for v in values]
                return escaped[0] if len(escaped) == 1 else "(" + "|".join(escaped) + ")"
            if len(values) != 1:
                raise UnexpandedError(f"${name} has {len(values)} values outside a regex: {text!r}")
            return values[0]

        return _VARIABLE.sub(replace, text)


def apply_variable_regex(regex: str | None, values: Sequence[str]) -> list[str]:
    """A query variable's ``regex`` filter (``/pattern/``), as Grafana applies it to the options."""
    if not regex:
        return list(values)
    if not (regex.startswith("/") and regex.endswith("/")):
        raise ValueError(f"variable regex must be /…/: {regex!r}")
    pattern = re.compile(regex[1:-1])
    return [v for v in values if pattern.search(v)]
