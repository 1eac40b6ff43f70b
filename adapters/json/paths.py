"""Paths into a JSON document: dotted (``air.temp``, ``values.0``) or JSONPath (``$.readings[*].v``)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Protocol

from jsonpath_ng.exceptions import JSONPathError
from jsonpath_ng.ext.parser import parse as parse_jsonpath


class PathError(ValueError):
    """A path that can't be compiled."""


class Path(Protocol):
    text: str

    def find(self, document: Any) -> list[Any]: ...


class DottedPath:
    """``a.b.0.c``: object members by name, array elements by index. A key containing a dot needs JSONPath."""

    def __init__(self, text: str) -> None:
        if not text or any(not part for part in text.split(".")):
            raise PathError(f"{text!r}: empty path member (use JSONPath, e.g. $['PM2.5'], for keys with dots)")
        self.text = text
        self._parts = text.split(".")

    def find(self, document: Any) -> list[Any]:
        node = document
        for part in self._parts:
            if isinstance(node, dict) and part in node:
                node = node[part]
            elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
                node = node[int(part)]
            else:
                return []
        return [node]


class JsonPath:
    """A JSONPath expression (jsonpath-ng's extended syntax, with filters); ``$`` is the record."""

    def __init__(self, text: str) -> None:
        try:
            self._expression = parse_jsonpath(text)
        except Exception as exc:  # jsonpath-ng raises plain Exception (not JSONPathError) for some lexer errors
            raise PathError(f"{text!r}: not a JSONPath expression: {exc}") from None
        self.text = text

    def find(self, document: Any) -> list[Any]:
        try:
            return [match.value for match in self._expression.find(document)]
        except (JSONPathError, TypeError, ValueError, KeyError, IndexError, AttributeError):
            return []  # a filter comparing mismatched types matches nothing


@lru_cache(maxsize=1024)
def compile_path(text: str) -> Path:
    return JsonPath(text) if text.startswith("$") else DottedPath(text)
