"""The ``backend=`` option read into destinations: each entry (a URL, a backend object
or a :class:`~convsdk.fanout.Destination`) with the name stats give it and its spool
directory.

The first destination keeps the tracker's ``spool_dir`` itself (so a spool written
before the fan-out replays into it); each other one gets
``<spool_dir>/destinations/<scheme>-<digest of host and path>``, stable from one process
to the next, so what one destination could not take is replayed into it alone.
"""

from __future__ import annotations

import os
from typing import NamedTuple

from ..backends import Backend
from ..errors import ConfigError
from .destination import Destination, is_backend

__all__ = ["SUBDIRECTORY", "BackendArg", "Entry", "entries"]

#: Where the spools of the destinations after the first live, inside ``spool_dir``.
SUBDIRECTORY = "destinations"

#: One entry of ``backend=``.
BackendArg = str | Backend | Destination


class Entry(NamedTuple):
    """One destination, its unique name (stats, logs) and spool directory (or None)."""

    destination: Destination
    name: str
    spool_dir: str | None


def entries(value: object, spool_dir: str | None) -> list[Entry]:
    """The destinations ``backend=`` (one entry, or a list or tuple of them) names, in
    order; :class:`~convsdk.ConfigError` for an empty list, an entry that is none of
    :data:`BackendArg`, or the same destination twice."""
    items = value if isinstance(value, list | tuple) else [value]
    dests = [_destination(item) for item in items]
    if not dests:
        raise ConfigError("the list is empty: name at least one backend", field="backend")
    found: list[Entry] = []
    names: set[str] = set()
    spools: set[str] = set()
    seen: list[object] = []
    for index, dest in enumerate(dests):
        if any(dest.target is other or dest.target == other for other in seen):
            raise ConfigError(f"{dest.name()} is listed twice", field="backend")
        seen.append(dest.target)
        name = _unique(dest.name(), names, "#")
        spool = None
        if spool_dir is not None:
            spool = spool_dir
            if index:
                spool = os.path.join(
                    spool_dir, SUBDIRECTORY, _unique(dest.spool_name(), spools, "-")
                )
        found.append(Entry(dest, name, spool))
    return found


def _destination(item: object) -> Destination:
    if isinstance(item, Destination):
        return item
    if isinstance(item, str) or is_backend(item):
        return Destination(item)  # type: ignore[arg-type]  # checked like Backend is
    raise ConfigError(
        f"must be a URL, a backend, a Destination or a list of them, got {item!r}",
        field="backend",
    )


def _unique(name: str, taken: set[str], joint: str) -> str:
    """``name``, or ``name<joint>2``, ``3``... if it is taken; then taken."""
    candidate, n = name, 1
    while candidate in taken:
        n += 1
        candidate = f"{name}{joint}{n}"
    taken.add(candidate)
    return candidate
