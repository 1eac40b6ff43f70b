"""MQTT topic filters: validation, matching and overlap, per MQTT 3.1.1 section 4.7."""

from __future__ import annotations


class TopicFilterError(ValueError):
    pass


def validate_filter(topic_filter: str) -> None:
    if not topic_filter:
        raise TopicFilterError("empty topic filter")
    levels = topic_filter.split("/")
    for index, level in enumerate(levels):
        if "#" in level and (level != "#" or index != len(levels) - 1):
            raise TopicFilterError(f"'#' must be a whole, last level in {topic_filter!r}")
        if "+" in level and level != "+":
            raise TopicFilterError(f"'+' must be a whole level in {topic_filter!r}")
    if levels[0] in ("+", "#") or topic_filter.startswith("$"):
        # A lab owns a topic prefix; a filter starting with a wildcard would claim everyone's.
        raise TopicFilterError(f"a lab's topic filter must start with a fixed level: {topic_filter!r}")


def matches(topic_filter: str, topic: str) -> bool:
    filter_levels = topic_filter.split("/")
    topic_levels = topic.split("/")
    for index, level in enumerate(filter_levels):
        if level == "#":
            return True
        if index >= len(topic_levels):
            return False
        if level != "+" and level != topic_levels[index]:
            return False
    return len(filter_levels) == len(topic_levels)


def overlap(first: str, second: str) -> bool:
    """True when some topic matches both filters."""
    a, b = first.split("/"), second.split("/")
    for index in range(max(len(a), len(b))):
        level_a = a[index] if index < len(a) else None
        level_b = b[index] if index < len(b) else None
        if level_a == "#" or level_b == "#":
            return True
        if level_a is None or level_b is None:
            return False
        if level_a != "+" and level_b != "+" and level_a != level_b:
            return False
    return True
