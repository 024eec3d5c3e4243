"""Which spool directory each destination replays: matched by the record in each
directory (:mod:`convsdk.delivery.owner`, the key of the destination it was written
for), never by the destination's place in ``backend=``.

At tracker start, with keys from :mod:`~convsdk.fanout.entries`:

- a destination whose key ``spool_dir``'s record names gets ``spool_dir``;
- a destination with a directory under ``spool_dir/destinations/`` whose record names
  it (or, without a record, as written before records, whose name is its key) gets it;
- the first destination, if neither gave it a directory, keeps ``spool_dir`` itself
  when that holds no record: a spool written before records replays into it, as it did;
- any other gets a new ``destinations/<key>``;
- a spool directory left over (its destination is no longer configured, or
  ``spool_dir`` without a record when the first destination has a directory of its
  own) is replayed into nothing: it stays on disk, one warning names it with the bytes
  and segment files waiting there, and ``stats()["orphaned_spool_bytes"]`` counts them.
  Configuring its destination again (first, for one without a record) replays it.

So reordering ``backend=`` between two runs replays each destination's spool into it
alone. Destinations sharing a key (two objects of one class without a
``destination_key``) are told apart by their order only, and a warning says so.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

from ..delivery.directory import DESTINATIONS, waiting
from ..delivery.owner import read_owner
from .entries import Entry

__all__ = ["SUBDIRECTORY", "Spools", "match"]

log = logging.getLogger("convsdk.fanout")

#: Where the spools of the destinations that do not use ``spool_dir`` itself live.
SUBDIRECTORY = DESTINATIONS


class Spools(NamedTuple):
    """The spool directory of each destination (in ``backend=`` order) and the spool
    directories no configured destination replays, each with the bytes waiting there."""

    directories: list[str]
    orphaned: dict[str, int]


def match(found: Sequence[Entry], spool_dir: str) -> Spools:
    """The spool directories of the destinations ``found`` under ``spool_dir`` (see the
    module's rules); logs the spools left over and the keys shared by order."""
    _warn_shared(found)
    home_owner = read_owner(spool_dir)
    recorded = _recorded(Path(spool_dir, SUBDIRECTORY))
    directories: list[str] = []
    for index, entry in enumerate(found):
        own = recorded.get(entry.key)
        if entry.key == home_owner or (index == 0 and home_owner is None and not own):
            directories.append(spool_dir)
        elif own:
            directories.append(own[0])
        else:
            directories.append(os.path.join(spool_dir, SUBDIRECTORY, entry.key))
    candidates: list[tuple[str, str | None]] = [(spool_dir, home_owner)]
    candidates += [(path, key) for key, paths in recorded.items() for path in paths]
    used = set(directories)
    orphaned: dict[str, int] = {}
    for path, owner in candidates:
        if path in used:
            continue
        size, files = waiting(Path(path))
        if files:
            orphaned[path] = size
            _warn_orphan(path, owner, size, files, found, directories)
    return Spools(directories, orphaned)


def _recorded(subdirectory: Path) -> dict[str, list[str]]:
    """Each key to the directories under ``subdirectory`` that belong to it: by their
    record, or by their name when they have none; a directory named after its key first."""
    owners: dict[str, list[str]] = {}
    try:
        with os.scandir(subdirectory) as listing:
            folders = sorted(e.name for e in listing if e.is_dir(follow_symlinks=False))
    except OSError:
        return owners
    for name in folders:
        path = str(subdirectory / name)
        owner = read_owner(path) or name
        paths = owners.setdefault(owner, [])
        if name == owner:
            paths.insert(0, path)
        else:
            paths.append(path)
    return owners


def _warn_orphan(
    path: str,
    owner: str | None,
    size: int,
    files: int,
    found: Sequence[Entry],
    directories: Sequence[str],
) -> None:
    keys = [entry.key for entry in found]
    if owner is None:
        whose = "the destination listed first when a version before records wrote them"
        where = f"{found[0].name} spools to {directories[0]}"
    elif owner in keys:
        whose = f"the destination {owner}"
        where = f"it spools to {directories[keys.index(owner)]} now"
    else:
        whose = f"the destination {owner}"
        where = "it is not in backend= any more"
    log.warning(
        "the spool %s holds %d bytes in %d segment files for %s, and %s: they are not "
        "replayed into any other destination (configure it again to deliver them, or "
        "delete the directory to give them up)",
        path,
        size,
        files,
        whose,
        where,
    )


def _warn_shared(found: Sequence[Entry]) -> None:
    shared: dict[str, list[str]] = {}
    for entry in found:
        shared.setdefault(entry.destination.spool_name(), []).append(entry.name)
    for key, names in shared.items():
        if len(names) > 1:
            log.warning(
                "%s share the spool key %s: their spools follow their order in backend=, "
                "so keep that order (or give each backend a distinct destination_key)",
                ", ".join(names),
                key,
            )
