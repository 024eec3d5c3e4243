"""Which destination a spool directory belongs to: the record file :data:`RECORD` in it,
holding that destination's key (:meth:`convsdk.Destination.spool_name`: a scheme and a
digest, or a backend's ``destination_key``; never a secret).

The fan-out matches destinations to spool directories by this record, not by their
place in ``backend=``, so a spool replays only into the destination it was written for
(:mod:`convsdk.fanout.spools`). The record is written once, atomically (a temporary
file renamed over it), when the spool directory is set up for its destination; a
directory without one was written by a version before records, or is new.
"""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path

from .._fs import fsync_dir
from .files import TMP_PREFIX, try_lock, write_all

__all__ = ["RECORD", "claim_directory", "read_owner", "write_owner"]

log = logging.getLogger("convsdk.spool")

#: The record's file name inside a spool directory (never a segment's name).
RECORD = "destination"
#: More than any key is long: a bigger file is not a record, it is read as foreign.
_MAX = 512


def read_owner(directory: str | os.PathLike[str]) -> str | None:
    """The key the record of ``directory`` holds; None when it has none (or the
    directory is missing). A record that cannot be read yields text no key equals, so a
    directory of unknown ownership is replayed nowhere."""
    path = Path(directory) / RECORD
    try:
        with open(path, "rb") as file:
            data = file.read(_MAX + 1)
    except FileNotFoundError:
        return None
    except OSError as exc:
        return f"<unreadable: {exc.strerror or exc}>"
    text = data[:_MAX].decode("utf-8", "replace").strip()
    return text or "<empty record>"


def write_owner(directory: str | os.PathLike[str], key: str, *, fsync: bool = False) -> None:
    """Record ``key`` as the owner of ``directory`` (which exists), atomically; with
    ``fsync`` durably too (the spool's own setting: its segments are synced alike).
    Raises ``OSError`` when the disk refuses."""
    folder = Path(directory)
    # Locked while written, as the spool's temporary files are: a rescan removes only
    # unlocked ones (left by a writer that died).
    tmp = folder / f"{TMP_PREFIX}{RECORD}-{os.getpid()}-{secrets.token_hex(4)}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        try_lock(fd)
        write_all(fd, f"{key}\n".encode())
        if fsync:
            os.fsync(fd)
        os.rename(tmp, folder / RECORD)
    except OSError:
        tmp.unlink(missing_ok=True)
        raise
    finally:
        os.close(fd)
    if fsync:
        fsync_dir(folder)


def claim_directory(directory: str | os.PathLike[str], key: str, *, fsync: bool = False) -> None:
    """Set up ``directory`` (which exists) for the destination ``key``: write the record
    unless it has one. A record naming another destination is left alone (and logged):
    the directory is that destination's. Never raises; a record the disk refuses is
    logged and tried again when the next process sets the directory up."""
    try:
        owner = read_owner(directory)
        if owner is None:
            write_owner(directory, key, fsync=fsync)
        elif owner != key:
            log.warning(
                "the spool directory %s belongs to the destination %s, not to %s",
                directory,
                owner,
                key,
            )
    except OSError as exc:
        log.warning("cannot record the destination of the spool %s: %s", directory, exc)
