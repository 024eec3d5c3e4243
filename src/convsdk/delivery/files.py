"""Segment files: naming, locking, appending whole lines, and syncing a directory.

A segment is an append-only JSON Lines file of a spool directory. This module owns the
file-level mechanics every part of delivery shares: the segment name pattern, the
exclusive ``flock`` that marks ownership, :class:`Segment` (one file this process
appends to) and :func:`fsync_dir`, the one helper that makes directory entries durable.
"""

from __future__ import annotations

import errno
import os
import re
import secrets
import time
from pathlib import Path

from .._fs import fsync_dir

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "HAVE_FLOCK",
    "SEGMENT_NAME",
    "TMP_PREFIX",
    "Segment",
    "SpoolWriteError",
    "close_quietly",
    "disk_reason",
    "fsync_dir",
    "new_stem",
    "try_lock",
    "write_all",
]

#: ``<ns>-<pid>-<random>.(seg|wal)[.<claimer>-<random>.claimed].jsonl``
SEGMENT_NAME = re.compile(
    r"(?P<stem>(?P<ns>\d{20})-\d+-[0-9a-f]{8})\.(?P<kind>seg|wal)"
    r"(?:\.(?P<claimer>\d+)-[0-9a-f]{8}\.claimed)?\.jsonl\Z"
)
#: Temporary files being written; renamed to a segment name once whole.
TMP_PREFIX = ".tmp-"
#: Whether POSIX advisory locks are available (without them: one process per directory).
HAVE_FLOCK = fcntl is not None


def try_lock(fd: int) -> bool:
    """Take an exclusive, non-blocking flock; False when another open file holds it."""
    if fcntl is None:  # pragma: no cover - Windows: one process per spool directory
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        if exc.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
            return False
        raise
    return True


def new_stem() -> str:
    """A fresh segment stem: creation time in ns (names sort oldest first), pid, random."""
    return f"{time.time_ns():020d}-{os.getpid()}-{secrets.token_hex(4)}"


def close_quietly(fd: int) -> None:
    """Close a file descriptor, ignoring errors (one inherited across a fork)."""
    try:
        os.close(fd)
    except OSError:
        pass


def write_all(fd: int, data: bytes) -> None:
    """Write all of ``data`` to ``fd``, however many ``os.write`` calls it takes."""
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def disk_reason(exc: Exception) -> str:
    """Why the disk refused, in words and with the errno: "disk full ([Errno 28] ...)";
    for an error other than the system's, its type and message."""
    if not isinstance(exc, OSError):
        return f"{type(exc).__name__}: {exc}"
    if exc.errno == errno.ENOSPC:
        return f"disk full: {exc}"
    if exc.errno == errno.EDQUOT:
        return f"disk quota exceeded: {exc}"
    if exc.errno in (errno.EMFILE, errno.ENFILE):
        return f"too many open files: {exc}"
    return str(exc)


class SpoolWriteError(OSError):
    """The disk refused a spool write part way: the first ``stored`` lines are whole on
    disk, the rest is not there at all (the torn part was cut off).

    It carries the ``errno`` and message of the refusal (``ENOSPC`` on a full disk).
    """

    def __init__(self, cause: OSError, stored: int) -> None:
        super().__init__(cause.errno, cause.strerror or str(cause))
        self.stored = stored


class Segment:
    """A segment file this process appends to, locked for as long as it is open.

    Not thread-safe by itself: the spool (overflow) or the dispatcher (write-ahead
    log) serialises writers.
    """

    __slots__ = ("broken", "created", "dirty", "fd", "keep", "name", "path", "size")

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self.name = path.name
        self.fd = fd
        self.size = 0
        self.created = time.monotonic()
        self.dirty = False
        # Set after a failed write: a half-written line must not be glued to the next one.
        self.broken = False
        # A write-ahead segment holding an event stored nowhere else: replay, not delete.
        self.keep = False

    def write(self, data: bytes) -> None:
        """Append ``data`` (whole lines) with unbuffered writes (one ``os.write`` for a line).

        When the disk refuses part way (a full disk), the torn last line is cut off so
        the file ends with a whole line and stays usable, and :class:`SpoolWriteError`
        says how many lines were stored. Only when even the cut fails is the segment
        marked :attr:`broken` (nothing may be glued to the torn line).
        """
        done = 0
        try:
            done = os.write(self.fd, data)
            if done != len(data):
                view = memoryview(data)[done:]
                while view:
                    n = os.write(self.fd, view)
                    view = view[n:]
                    done += n
        except OSError as exc:
            whole = data.rfind(b"\n", 0, done) + 1
            if whole != done:
                try:
                    os.ftruncate(self.fd, self.size + whole)
                except OSError:
                    self.broken = True
                    whole = done  # the bytes stay on disk, torn line included
            self.size += whole
            if whole:
                self.dirty = True
            raise SpoolWriteError(exc, data.count(b"\n", 0, whole)) from exc
        self.size += len(data)
        self.dirty = True
