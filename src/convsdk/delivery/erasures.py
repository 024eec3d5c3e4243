"""The people erased from the store, as a spool keeps them: their events still waiting
are not delivered.

``convsdk forget --spool DIR`` erases a person's events from the store, but a tracker
may still hold some from before the erasure: in its queue, or spooled while the store
was down, to be replayed days later. So it also appends a line to ``erased.ids`` in the
spool (and in each destination's spool under it): when, and the SHA-256 of each user id
and visitor id erased (the ids themselves are what was erased). A dispatcher with that
spool reads the list again whenever the file changes and leaves out of every batch it
writes, live or replayed, the events of those people dated up to their erasure, counted
as ``erased`` in ``stats()``. Later events are delivered: a person may come back.

The list holds digests only, and is read by this version of convsdk and later ones;
delete it once the spools it sits in are empty (``stats()["spool_bytes"]`` is 0).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Collection
from pathlib import Path

from ..event import Event
from .directory import DESTINATIONS

__all__ = ["ERASED_FILE", "Erasures", "digest", "record"]

log = logging.getLogger("convsdk.dispatch")

#: The list's file name, in a spool directory.
ERASED_FILE = "erased.ids"


def digest(identifier: str) -> str:
    """The SHA-256 of an id, as the list keeps it (hex)."""
    return hashlib.sha256(identifier.encode("utf-8", "surrogatepass")).hexdigest()


def record(
    directory: Path, *, users: Collection[str], visitors: Collection[str], at: float
) -> None:
    """Add an erasure at ``at`` (seconds since the epoch) of ``users`` and ``visitors`` to
    the list of the spool ``directory`` and of each destination's spool under it.
    Appended and synced: a dispatcher reading meanwhile sees the line whole
    or not at all (a torn last line is skipped)."""
    line = (
        json.dumps(
            {
                "at": at,
                "users": sorted({digest(u) for u in users}),
                "visitors": sorted({digest(v) for v in visitors}),
            },
            separators=(",", ":"),
        ).encode()
        + b"\n"
    )
    spools = [directory]
    nested = directory / DESTINATIONS
    if nested.is_dir():
        spools += sorted(path for path in nested.iterdir() if path.is_dir())
    for spool in spools:
        os.makedirs(spool, mode=0o700, exist_ok=True)
        path = spool / ERASED_FILE
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line)
            os.fsync(fd)
        finally:
            os.close(fd)


class Erasures:
    """The list of one spool directory, read again when its file changes (one ``stat`` a
    batch); used by the dispatcher's thread alone."""

    def __init__(self, directory: Path) -> None:
        self.path = directory / ERASED_FILE
        self._seen: tuple[int, int, int] | None = None
        self._users: dict[str, float] = {}
        self._visitors: dict[str, float] = {}

    def sift(self, events: list[Event]) -> tuple[list[Event], int]:
        """``events`` but those of people erased after they happened; how many were left out."""
        self._refresh()
        if not self._users and not self._visitors:
            return events, 0
        kept = [event for event in events if not self._erased(event)]
        return kept, len(events) - len(kept)

    def _erased(self, event: Event) -> bool:
        at = event.timestamp.timestamp()
        for identifier, erased in (
            (event.user_id, self._users),
            (event.visitor_id, self._visitors),
        ):
            if identifier is not None and erased:
                when = erased.get(digest(identifier))
                if when is not None and at <= when:
                    return True
        return False

    def _refresh(self) -> None:
        try:
            found = os.stat(self.path)
        except OSError:  # no list (the common case), or none readable
            self._seen, self._users, self._visitors = None, {}, {}
            return
        seen = (found.st_ino, found.st_size, found.st_mtime_ns)
        if seen == self._seen:
            return
        users: dict[str, float] = {}
        visitors: dict[str, float] = {}
        try:
            with open(self.path, "rb") as file:
                for raw in file:
                    _merge(raw, users, visitors)
        except OSError as exc:
            log.warning("cannot read the erasure list %s: %s", self.path, exc)
            return  # the list as last read
        self._seen, self._users, self._visitors = seen, users, visitors


def _merge(raw: bytes, users: dict[str, float], visitors: dict[str, float]) -> None:
    """Add a line of the list to the latest erasure time of each digest (a torn or foreign
    line is skipped)."""
    try:
        entry = json.loads(raw)
        at = float(entry["at"])
        lists = ((entry["users"], users), (entry["visitors"], visitors))
    except (ValueError, TypeError, KeyError):
        return
    for digests, latest in lists:
        if isinstance(digests, list):
            for key in digests:
                if isinstance(key, str) and latest.get(key, -1.0) < at:
                    latest[key] = at
