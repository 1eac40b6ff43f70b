"""Every dead-letter store under one data directory, read and replayed as one.

A data directory holds the store of a single ``citylab serve`` (``deadletters.sqlite3``) and, under
``citylab serve --workers N``, one per worker in ``worker-<i>/``. ``DeadLetterStores`` opens each of
them and answers as one store does: a letter's id is unique across the set
(``number × ID_STRIDE + its id in its own store``, where ``number`` is 0 for the directory's own store
and ``i`` for ``worker-<i>``), listings go in id order (store by store, oldest first within each),
and what a replay decides is written to the store each letter came from.

Ids of a single store are unchanged (number 0), so a single process's letters keep their ids.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path

from hub.deadletters.store import FILE_NAME, DeadLetter, DeadLetterStore

# Letters per store that ids can tell apart: far more than a store ever holds; keeps ids below 2^53
# (exact in JSON) for up to 9,000 workers.
ID_STRIDE = 10**12
WORKER_DIR = re.compile(r"^worker-([1-9][0-9]{0,3})$")


def worker_dir_name(index: int) -> str:
    """The subdirectory of worker ``index`` (1-based) under the data directory."""
    return f"worker-{index}"


def store_number(letter_id: int) -> int:
    """Which store of a set a letter id belongs to: 0 the directory's own, ``i`` that of ``worker-<i>``."""
    return letter_id // ID_STRIDE


def store_label(number: int) -> str | None:
    return worker_dir_name(number) if number else None


def find_dead_letter_stores(data_dir: Path) -> list[tuple[int, Path]]:
    """``(number, path)`` of each dead-letter store in ``data_dir`` and its ``worker-<i>`` subdirectories."""
    found: list[tuple[int, Path]] = []
    if (data_dir / FILE_NAME).is_file():
        found.append((0, data_dir / FILE_NAME))
    if data_dir.is_dir():
        for child in data_dir.iterdir():
            match = WORKER_DIR.match(child.name)
            if match and (child / FILE_NAME).is_file():
                found.append((int(match.group(1)), child / FILE_NAME))
    return sorted(found)


class DeadLetterStores:
    """Several stores as one (see the module's docstring). One thread at a time, as each store."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self._stores: dict[int, DeadLetterStore] = {}
        self.refresh()

    def refresh(self) -> None:
        """Open stores that appeared since (a worker that wrote its first letter, or a new worker)."""
        for number, path in find_dead_letter_stores(self.data_dir):
            if number not in self._stores:
                self._stores[number] = DeadLetterStore(path)

    @property
    def numbers(self) -> list[int]:
        return sorted(self._stores)

    def select(
        self,
        *,
        lab: str | None = None,
        reason_code: str | None = None,
        since_ns: int | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[DeadLetter]:
        """Letters in id order: each store's in turn, oldest first within it; ids unique across the set."""
        chosen: list[DeadLetter] = []
        for number in self.numbers:
            if len(chosen) >= limit:
                break
            store = self._stores[number]
            if offset:
                here = store.count(lab=lab, reason_code=reason_code, since_ns=since_ns)
                if offset >= here:
                    offset -= here
                    continue
            letters = store.select(
                lab=lab, reason_code=reason_code, since_ns=since_ns, limit=limit - len(chosen), offset=offset
            )
            offset = 0
            chosen.extend(replace(letter, id=number * ID_STRIDE + (letter.id or 0)) for letter in letters)
        return chosen

    def count(self, *, lab: str | None = None, reason_code: str | None = None, since_ns: int | None = None) -> int:
        return sum(store.count(lab=lab, reason_code=reason_code, since_ns=since_ns) for store in self._stores.values())

    def counts(self) -> dict[tuple[str | None, str], int]:
        """Letters per (lab, reason) over every store."""
        total: dict[tuple[str | None, str], int] = defaultdict(int)
        for store in self._stores.values():
            for key, value in store.counts().items():
                total[key] += value
        return dict(total)

    def settle(self, resolved: Iterable[int], added: Iterable[tuple[int | None, DeadLetter]]) -> None:
        """Remove and add letters, each in the store its message's letters are in, one transaction per store."""
        removals: dict[int, list[int]] = defaultdict(list)
        additions: dict[int, list[tuple[int | None, DeadLetter]]] = defaultdict(list)
        for letter_id in resolved:
            removals[store_number(letter_id)].append(letter_id % ID_STRIDE)
        for beside, letter in added:
            # A letter replay found without a stored sibling has nowhere better to go than the directory's own.
            additions[store_number(beside) if beside is not None else 0].append((beside, letter))
        for number in sorted(set(removals) | set(additions)):
            self._store(number).settle(removals[number], additions[number])

    def _store(self, number: int) -> DeadLetterStore:
        store = self._stores.get(number)
        if store is None:
            directory = self.data_dir / worker_dir_name(number) if number else self.data_dir
            store = self._stores[number] = DeadLetterStore(directory / FILE_NAME)
        return store

    def close(self) -> None:
        for store in self._stores.values():
            store.close()
        self._stores.clear()
