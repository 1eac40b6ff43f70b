"""Which lab and source a topic belongs to. City and lab come from here, never from payloads."""

from __future__ import annotations

from dataclasses import dataclass

from hub.labs import LabConfig, Source
from hub.topics import matches


@dataclass(frozen=True, slots=True)
class Route:
    lab: LabConfig
    source: Source


# Topics seen, remembered with their route: a device publishes on the same topic again and again. Topics
# are the publishers' text, so the memo is bounded (a few MB) and starts over when full.
_MEMO_LIMIT = 16384


class Router:
    def __init__(self, labs: dict[str, LabConfig]) -> None:
        self._routes = [Route(lab, source) for lab in labs.values() for source in lab.sources]
        # A lab's filters start with a fixed level (hub.topics.validate_filter), so a topic is matched only
        # against the filters that start with its own first level; a filter that starts with a wildcard
        # (not allowed in lab configs) is tried for every topic.
        self._by_first_level: dict[str, list[Route]] = {}
        self._any_first_level: list[Route] = []
        for route in self._routes:
            first = route.source.topic.split("/", 1)[0]
            if first in ("+", "#"):
                self._any_first_level.append(route)
            else:
                self._by_first_level.setdefault(first, []).append(route)
        self._memo: dict[str, Route | None] = {}

    @property
    def topic_filters(self) -> list[str]:
        return [route.source.topic for route in self._routes]

    def route(self, topic: str) -> Route | None:
        try:
            return self._memo[topic]
        except KeyError:
            pass
        found = self._match(topic)
        if len(self._memo) >= _MEMO_LIMIT:
            self._memo.clear()
        self._memo[topic] = found
        return found

    def _match(self, topic: str) -> Route | None:
        # Lab configs may not overlap (checked at load), so the first match is the only one.
        candidates = self._by_first_level.get(topic.split("/", 1)[0], [])
        for route in [*candidates, *self._any_first_level]:
            if matches(route.source.topic, topic):
                return route
        return None
