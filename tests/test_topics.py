from __future__ import annotations

import pytest

from hub.topics import matches, overlap


@pytest.mark.parametrize(
    ("topic_filter", "topic", "expected"),
    [
        ("a/+/c", "a/b/c", True),
        ("a/+/c", "a/b/d", False),
        ("a/#", "a", True),
        ("a/#", "a/b/c", True),
        ("a/+", "a/b/c", False),
        ("v3/x@ttn/devices/+/up", "v3/x@ttn/devices/d 1,city=y/up", True),
    ],
)
def test_matches(topic_filter: str, topic: str, expected: bool) -> None:
    assert matches(topic_filter, topic) is expected


@pytest.mark.parametrize(
    ("first", "second", "expected"),
    [
        ("a/#", "a/b/+", True),
        ("a/+/c", "a/b/+", True),
        ("a/b", "a/c", False),
        ("a/b", "a/b/c", False),
        ("a/+", "b/+", False),
    ],
)
def test_overlap(first: str, second: str, expected: bool) -> None:
    assert overlap(first, second) is expected
    assert overlap(second, first) is expected
