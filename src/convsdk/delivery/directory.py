"""The spool directory: listing segments, measuring them, and claiming one for replay.

Ownership of a segment is an exclusive ``flock``: a replayer claims a segment by locking
it and then renaming it (``.claimed``) atomically, so exactly one process sends it. The
kernel drops the lock when its owner dies, so a crashed process's segments become
claimable by the next process that looks.
"""

from __future__ import annotations

import logging
import os
import secrets
import stat
from collections.abc import Collection, Iterable
from pathlib import Path

from .files import HAVE_FLOCK, SEGMENT_NAME, TMP_PREFIX, try_lock

__all__ = ["DESTINATIONS", "claim_file", "list_entries", "list_segments", "measure", "waiting"]

log = logging.getLogger("convsdk.spool")

#: Where the spools of a tracker's destinations but the first live, under its spool
#: directory (see :mod:`convsdk.fanout.spools`).
DESTINATIONS = "destinations"


def list_entries(directory: Path) -> list[os.DirEntry[str]] | None:
    """The directory's entries; empty when it does not exist, None when unreadable."""
    try:
        return list(os.scandir(directory))
    except FileNotFoundError:
        return []
    except OSError as exc:
        log.warning("cannot list the spool directory %s: %s", directory, exc)
        return None


def measure(
    entries: Iterable[os.DirEntry[str]], own_wal: Collection[str], busy: Collection[str]
) -> tuple[int, bool]:
    """Bytes of the segment files among ``entries`` (except ``own_wal``) and whether any
    not ``busy`` (ours, or claimed by us) waits; stale temporary files are removed."""
    total = 0
    waiting = False
    for entry in entries:
        name = entry.name
        if name.startswith(TMP_PREFIX):
            _remove_stale_tmp(Path(entry.path))
            continue
        if SEGMENT_NAME.match(name) is None or name in own_wal:
            continue
        try:
            if not entry.is_file(follow_symlinks=False):
                continue  # a stray directory (or link) named like a segment
            total += entry.stat(follow_symlinks=False).st_size
        except OSError:
            continue
        if name not in busy:
            waiting = True
    return total, waiting


def _remove_stale_tmp(path: Path) -> None:
    # A temporary file is locked while it is written; unlocked, its writer died.
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        if try_lock(fd):
            path.unlink(missing_ok=True)
    except OSError:
        pass
    finally:
        os.close(fd)


def list_segments(directory: Path) -> list[str]:
    """The regular files named like segments, oldest first."""
    names = []
    try:
        with os.scandir(directory) as entries:
            for entry in entries:
                if SEGMENT_NAME.match(entry.name) is None:
                    continue
                try:
                    if entry.is_file(follow_symlinks=False):
                        names.append(entry.name)
                except OSError:
                    continue
    except OSError:
        return []
    return sorted(names)


def waiting(directory: Path) -> tuple[int, int]:
    """The bytes of the segment files in ``directory`` and how many there are: what
    waits there, known without reading a file (0, 0 when it is missing)."""
    total = count = 0
    for name in list_segments(directory):
        try:
            total += (directory / name).stat().st_size
        except OSError:
            continue
        count += 1
    return total, count


def claim_file(directory: Path, name: str) -> tuple[Path, int, int] | None:
    """Lock and rename the segment ``name`` as claimed by this process.

    Returns the claimed path, its open (locked) descriptor and its size; None when
    another live process owns it, it is gone, or it is not a regular file.
    """
    match = SEGMENT_NAME.match(name)
    if match is None:
        return None
    if not HAVE_FLOCK and match["claimer"] == str(os.getpid()):  # pragma: no cover
        return None
    path = directory / name
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        if not try_lock(fd):
            os.close(fd)
            return None
        claimed = directory / (
            f"{match['stem']}.{match['kind']}.{os.getpid()}-{secrets.token_hex(4)}.claimed.jsonl"
        )
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            os.close(fd)
            return None  # a directory or device named like a segment: not ours to send
        os.rename(path, claimed)
        # We locked the file that was at `path` when we opened it; make sure the one
        # renamed is that file and that nobody deleted it in between.
        if os.fstat(fd).st_nlink == 0 or os.stat(claimed).st_ino != st.st_ino:
            os.close(fd)
            return None
    except OSError:
        os.close(fd)
        return None
    return claimed, fd, st.st_size
