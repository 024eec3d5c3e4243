"""The ``backend=`` option read into destinations: each entry (a URL, a backend object
or a :class:`~convsdk.fanout.Destination`) with the name stats give it and the key its
spool goes by.

The key is :meth:`Destination.spool_name` (a URL's scheme and a digest of its host and
path, or a backend object's ``destination_key``, else its class name); the same key
twice (two objects of one class without a ``destination_key``) gets ``-2``, ``-3``... by
order. Which spool directory each key replays is decided on disk, by
:mod:`~convsdk.fanout.spools`.
"""

from __future__ import annotations

from typing import NamedTuple

from ..backends import Backend
from ..errors import ConfigError
from .destination import Destination, is_backend

__all__ = ["BackendArg", "Entry", "entries"]

#: One entry of ``backend=``.
BackendArg = str | Backend | Destination


class Entry(NamedTuple):
    """One destination, its unique name (stats, logs) and unique spool key."""

    destination: Destination
    name: str
    key: str


def entries(value: object) -> list[Entry]:
    """The destinations ``backend=`` (one entry, or a list or tuple of them) names, in
    order; :class:`~convsdk.ConfigError` for an empty list, an entry that is none of
    :data:`BackendArg`, the same destination twice, or a bad ``destination_key``."""
    items = value if isinstance(value, list | tuple) else [value]
    dests = [_destination(item) for item in items]
    if not dests:
        raise ConfigError("the list is empty: name at least one backend", field="backend")
    found: list[Entry] = []
    names: set[str] = set()
    keys: set[str] = set()
    seen: list[object] = []
    for dest in dests:
        if any(dest.target is other or dest.target == other for other in seen):
            raise ConfigError(f"{dest.name()} is listed twice", field="backend")
        seen.append(dest.target)
        name = _unique(dest.name(), names, "#")
        found.append(Entry(dest, name, _unique(dest.spool_name(), keys, "-")))
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
