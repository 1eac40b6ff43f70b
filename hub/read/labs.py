"""The lab configs, loaded once and reloaded when a file in the labs directory changes.

Every read asks ``LabCatalog.current()``. It compares a cheap fingerprint of the directory (the
directory's own mtime, and name, mtime, size and inode of each ``*.yaml``/``*.yml``) with the one
it loaded, and re-reads the YAML only when that changed: an edited, added or removed config
applies to the next request, without a restart and without re-parsing thirteen files per request.

A broken edit does not take reads down: the last good configs stay in use, the log says so once
per change, and ``status()`` reports it (the API shows it in ``/health``). Only when no good
configs were ever loaded does ``current()`` raise ``Unavailable``.
"""

from __future__ import annotations

import fnmatch
import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from core.timeutil import now_ns, ns_to_rfc3339
from hub.labs import LabConfig, LabConfigError, load_labs
from hub.read.errors import NotFound, Unavailable

log = logging.getLogger(__name__)

Labs = dict[str, LabConfig]
Fingerprint = tuple[object, ...]
_CONFIG_GLOB = "*.y*ml"  # what hub.labs.load_labs reads


@dataclass(frozen=True, slots=True)
class CatalogStatus:
    ok: bool  # True while some configs are in use, even stale ones
    detail: str


def fingerprint(directory: Path) -> Fingerprint:
    """What changes when a lab config is edited, added, removed or swapped by a rename."""
    try:
        entries = []
        with os.scandir(directory) as scan:
            for entry in scan:
                if fnmatch.fnmatchcase(entry.name, _CONFIG_GLOB):
                    stat = entry.stat()
                    entries.append((entry.name, stat.st_mtime_ns, stat.st_size, stat.st_ino))
        return (directory.stat().st_mtime_ns, *sorted(entries))
    except OSError as exc:
        return ("unreadable", type(exc).__name__, exc.errno)


class LabCatalog:
    """Thread-safe: requests served from a thread pool share one catalog."""

    def __init__(self, directory: Path, *, loader: Callable[[Path], Labs] = load_labs) -> None:
        self.directory = directory
        self._loader = loader
        self._lock = threading.Lock()
        self._seen: Fingerprint | None = None
        self._labs: Labs | None = None
        self._loaded_ns = 0
        self._error: str | None = None  # why the files as they are now can't be loaded

    def current(self) -> Labs:
        """The configs in use (shared: don't modify); raises ``Unavailable`` only if none were ever loaded."""
        with self._lock:
            self._refresh()
            if self._labs is None:
                raise Unavailable(f"lab configuration can't be loaded: {self._error}")
            return self._labs

    def reload(self) -> None:
        """Re-read the configs now, changed or not (SIGHUP): an edit the fingerprint can't see applies too."""
        with self._lock:
            self._seen = None
            self._refresh()

    def status(self) -> CatalogStatus:
        with self._lock:
            self._refresh()
            if self._labs is None:
                return CatalogStatus(False, f"lab configuration can't be loaded: {self._error}")
            loaded = f"{len(self._labs)} labs from {self.directory} (loaded {ns_to_rfc3339(self._loaded_ns)})"
            if self._error is not None:
                return CatalogStatus(
                    True, f"{loaded}; the files now there can't be loaded, so these stay in use: {self._error}"
                )
            return CatalogStatus(True, loaded)

    def _refresh(self) -> None:
        seen = fingerprint(self.directory)
        if seen == self._seen:
            return
        self._seen = seen
        try:
            labs = self._loader(self.directory)
        except LabConfigError as exc:
            self._error = str(exc).replace("\n", "; ")
            if self._labs is None:
                log.error("lab configuration can't be loaded: %s", self._error)
            else:
                log.warning(
                    "lab configs in %s changed but can't be loaded; still using the ones loaded at %s: %s",
                    self.directory,
                    ns_to_rfc3339(self._loaded_ns),
                    self._error,
                )
            return
        if self._labs is not None:
            log.info("lab configs in %s reloaded: %d labs", self.directory, len(labs))
        self._labs, self._loaded_ns, self._error = labs, now_ns(), None


def find_lab(labs: Labs, slug: str) -> LabConfig:
    """One lab by its slug; ``NotFound`` names the known ones."""
    config = labs.get(slug)
    if config is None:
        raise NotFound(f"no lab {slug!r}; known: {', '.join(sorted(labs))}")
    return config


def known_cities(labs: Labs) -> set[str]:
    return {config.city for config in labs.values()}
