"""Which lab and source a topic belongs to. City and lab come from here, never from payloads."""

from __future__ import annotations

from dataclasses import dataclass

from hub.labs import LabConfig, Source
from hub.topics import matches


@dataclass(frozen=True, slots=True)
class Route:
    lab: LabConfig
    source: Source


class Router:
    def __init__(self, labs: dict[str, LabConfig]) -> None:
        self._routes = [Route(lab, source) for lab in labs.values() for source in lab.sources]

    @property
    def topic_filters(self) -> list[str]:
        return [route.source.topic for route in self._routes]

    def route(self, topic: str) -> Route | None:
        # Lab configs may not overlap (checked at load), so the first match is the only one.
        for route in self._routes:
            if matches(route.source.topic, topic):
                return route
        return None
