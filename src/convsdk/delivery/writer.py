"""The segment writer: this process's open segments in a spool directory (the overflow
segment and the write-ahead ones), their bytes, and syncing them to disk."""

from __future__ import annotations

import errno
import logging
import os
import secrets
import threading
from pathlib import Path

from .._fs import fsync_dir
from .files import TMP_PREFIX, Segment, close_quietly, new_stem, try_lock, write_all
from .owner import claim_directory

__all__ = ["SegmentWriter"]

log = logging.getLogger("convsdk.spool")


class SegmentWriter:
    """Creates, appends to and closes the segments this process owns in ``directory``.

    ``lock`` is the spool's (reentrant) lock; methods ending in ``_locked`` expect the
    caller to hold it. :attr:`bytes` counts the segment files of the directory except our
    open write-ahead segments (those are counted by their size, see ``used_bytes``).
    ``owner``: the key of the spool's destination, recorded when the directory is made.
    """

    def __init__(
        self,
        directory: Path,
        lock: threading.RLock,
        *,
        segment_bytes: int,
        fsync: bool,
        owner: str | None = None,
    ) -> None:
        self.directory = directory
        self.owner = owner
        self.lock = lock
        self.segment_bytes = segment_bytes
        self.fsync = fsync
        self.overflow: Segment | None = None
        self.open: dict[str, Segment] = {}  # our open segments: overflow and write-ahead
        self.bytes = 0
        self._made_dir = False
        self._dir_dirty = False

    def wal_bytes(self) -> int:
        """Bytes in our open write-ahead segments."""
        return sum(s.size for s in list(self.open.values()) if s is not self.overflow)

    def own_wal_names(self) -> set[str]:
        """Names of our open write-ahead segments (under the lock)."""
        return {name for name, s in self.open.items() if s is not self.overflow}

    def _ensure_dir(self) -> None:
        if not self._made_dir:
            os.makedirs(self.directory, mode=0o700, exist_ok=True)
            if self.owner is not None:
                claim_directory(self.directory, self.owner, fsync=self.fsync)
            self._made_dir = True

    def new_segment_locked(self, kind: str) -> Segment:
        """Create and lock a new segment of ``kind`` (``"seg"`` or ``"wal"``)."""
        self._ensure_dir()
        for _ in range(5):
            path = self.directory / f"{new_stem()}.{kind}.jsonl"
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o600)
            try:
                locked = try_lock(fd)
            except OSError:
                os.close(fd)
                raise
            if locked:
                segment = Segment(path, fd)
                self.open[segment.name] = segment
                self._dir_dirty = True  # its directory entry is synced with its data
                return segment
            # A replayer locked the empty file first; it will delete it. Make another.
            os.close(fd)
        raise OSError(errno.EAGAIN, "could not create a spool segment", str(self.directory))

    def append_locked(self, data: bytes) -> None:
        """Append whole lines to the overflow segment (a new one when it is full)."""
        segment = self.overflow
        if segment is None or segment.broken or segment.size >= self.segment_bytes:
            if segment is not None:
                self.close_locked(segment, unlink_empty=True)
            segment = self.overflow = self.new_segment_locked("seg")
        before = segment.size
        try:
            segment.write(data)
        finally:
            self.bytes += segment.size - before

    def close_locked(self, segment: Segment, *, unlink_empty: bool = False) -> None:
        """Close one of our segments (``unlink_empty``: delete it when empty)."""
        if self.open.pop(segment.name, None) is not None:
            if unlink_empty and segment.size == 0:
                # Still locked: no replayer can have claimed the empty file meanwhile.
                segment.path.unlink(missing_ok=True)
            os.close(segment.fd)
        if segment is self.overflow:
            self.overflow = None

    def write_sealed(self, ns: str, data: bytes) -> None:
        """Write ``data`` as a complete, unlocked segment named with the age ``ns``."""
        self._ensure_dir()
        name = f"{ns}-{os.getpid()}-{secrets.token_hex(4)}.seg.jsonl"
        tmp = self.directory / f"{TMP_PREFIX}{name}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            try_lock(fd)
            write_all(fd, data)
            if self.fsync:
                os.fsync(fd)
            os.rename(tmp, self.directory / name)
        except OSError:
            tmp.unlink(missing_ok=True)
            raise
        finally:
            os.close(fd)
        with self.lock:
            self.bytes += len(data)

    def sync(self) -> None:
        """With ``fsync``: flush every segment written since the last call to disk."""
        if not self.fsync:
            return
        with self.lock:
            segments = [s for s in self.open.values() if s.dirty]
            sync_dir, self._dir_dirty = self._dir_dirty, False
            fds = []
            for segment in segments:
                segment.dirty = False
                # A duplicate, so the fsync runs outside the lock and a concurrent close
                # of the segment cannot hand its number to another file meanwhile.
                fds.append(os.dup(segment.fd))
        for fd in fds:
            try:
                os.fsync(fd)
            except OSError as exc:
                log.warning("fsync of a spool segment failed: %s", exc)
            finally:
                os.close(fd)
        if sync_dir:
            fsync_dir(self.directory)

    def close(self) -> None:
        """Close every open segment (write-ahead ones are kept for replay)."""
        with self.lock:
            for segment in list(self.open.values()):
                if segment is not self.overflow:
                    self.bytes += segment.size
                self.close_locked(segment, unlink_empty=True)

    def drop_inherited(self) -> None:
        """In a forked child: close the parent's descriptors, forget its segments."""
        for segment in self.open.values():
            close_quietly(segment.fd)
        self.open = {}
        self.overflow = None
