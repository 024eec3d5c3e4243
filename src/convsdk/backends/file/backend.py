"""The ``file://`` backend: appends each batch to a JSON Lines file in one write, following
the path when another process rotates the file, rotating it by size (see the package)."""

from __future__ import annotations

import io
import logging
import os
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

from ...adapters import url_key
from ...errors import BackendError
from ...event import Event
from ..options import bool_option, int_option
from .lines import encode
from .locking import shared
from .reader import read_events
from .rotation import rotate
from .url import parse_url

__all__ = ["DEFAULT_BACKUPS", "DEFAULT_MAX_BYTES", "FileBackend"]

_log = logging.getLogger("convsdk.backends.file")

DEFAULT_MAX_BYTES = 100 * 1024 * 1024
DEFAULT_BACKUPS = 10

# How long write() and close() wait for each other; the lock is held only for one
# write() of one batch, so this is reached only when the file system hangs.
_LOCK_TIMEOUT = 10.0


class FileBackend:
    """Append events to a JSON Lines file, rotating it by size.

    >>> backend = FileBackend("events.jsonl", max_bytes=10_000_000, backups=5)
    >>> backend.write([Event("signup", kind="micro")])
    >>> [event.name for event in backend.read()]
    ['signup']

    ``write`` is meant for one thread (the dispatcher's); the file is opened there, on
    the first batch. ``close`` may come from any thread; a ``write`` after ``close``
    raises a permanent :class:`~convsdk.BackendError`.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
        backups: int = DEFAULT_BACKUPS,
        fsync: bool = False,
    ) -> None:
        # Absolute now, so that an application's later chdir does not move the log.
        self.path = Path(os.path.abspath(os.fspath(path)))
        self.max_bytes = int_option("max_bytes", max_bytes)
        self.backups = int_option("backups", backups)
        self.fsync = bool_option("fsync", fsync)
        self._file: io.FileIO | None = None
        self._lock = threading.Lock()
        self._pid = os.getpid()
        self._closed = False

    @classmethod
    def from_url(cls, url: str, **options: Any) -> FileBackend:
        """Build from ``file:///abs/events.jsonl?max_bytes=1000000&backups=5&fsync=true``.

        Keyword ``options`` override the query parameters. A bad or unknown option
        raises :class:`convsdk.ConfigError` naming it.
        """
        path, kwargs = parse_url(url, options)
        return cls(path, **kwargs)

    @property
    def destination_key(self) -> str:
        """The key of its spool: the one its ``file://`` URL (absolute path) gives."""
        return url_key(f"file://{quote(str(self.path))}")

    def __repr__(self) -> str:
        return (
            f"FileBackend({str(self.path)!r}, max_bytes={self.max_bytes}, "
            f"backups={self.backups}, fsync={self.fsync})"
        )

    def check(self) -> None:
        """Raise :class:`convsdk.BackendError` unless the file can be opened to append."""
        self._after_fork()
        if not self._lock.acquire(timeout=_LOCK_TIMEOUT):
            raise BackendError(f"{self.path} is busy (closing)", backend="file")
        try:
            self._open_locked()
        except OSError as exc:
            raise BackendError(f"cannot open {self.path}: {exc}", backend="file") from exc
        finally:
            self._lock.release()

    def write(self, events: Sequence[Event]) -> None:
        """Append the batch as one write; raise :class:`convsdk.BackendError` on an I/O error.

        An event that cannot be serialised is logged and left out; the rest are written.
        """
        data = encode(events)
        if not data:
            return
        self._after_fork()
        if self._closed:
            raise BackendError(
                f"{self.path}: written after close()", backend="file", retryable=False
            )
        if not self._lock.acquire(timeout=_LOCK_TIMEOUT):
            raise BackendError(f"{self.path} is busy (closing)", backend="file")
        try:
            self._write_locked(data)
        except OSError as exc:
            # Reopen next time: the tail is checked again then, and a torn write repaired.
            self._close_locked()
            raise BackendError(f"cannot write {self.path}: {exc}", backend="file") from exc
        finally:
            self._lock.release()

    def read(self, *, dedupe: bool = True) -> Iterator[Event]:
        """Stream the events back, oldest file first (see :func:`read_events`)."""
        return read_events(self.path, dedupe=dedupe)

    def close(self) -> None:
        """Close the file (from any thread, more than once); a later :meth:`write` raises
        a permanent :class:`~convsdk.BackendError`."""
        self._closed = True
        if not self._lock.acquire(timeout=_LOCK_TIMEOUT):
            _log.warning("%s: a write is still in progress; the file is left open", self.path)
            return
        try:
            self._close_locked()
        finally:
            self._lock.release()

    # -- internals (called with the lock held) ------------------------------------

    def _after_fork(self) -> None:
        if self._pid != os.getpid():
            # A child of a fork: the lock may have been held by a parent thread that
            # does not exist here, and the descriptor is the parent's. The file is
            # unbuffered, so dropping it flushes nothing twice.
            self._pid = os.getpid()
            self._lock = threading.Lock()
            self._file = None

    def _write_locked(self, data: bytes | bytearray) -> None:
        while True:
            file, _ = self._open_locked()
            with shared(file):  # an eraser rewriting the log holds it exclusively
                if self._same_file(file):
                    self._append_locked(file, os.fstat(file.fileno()).st_size, data)
                    return
            # The path names another file now (an erasure rewrote it): follow it.

    def _same_file(self, file: io.FileIO) -> bool:
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return False
        fst = os.fstat(file.fileno())
        return st.st_ino == fst.st_ino and st.st_dev == fst.st_dev

    def _append_locked(self, file: io.FileIO, size: int, data: bytes | bytearray) -> None:
        if self.max_bytes and size and size + len(data) > self.max_bytes:
            self._rotate_locked()
            file, size = self._open_locked()
        # A crash (or full disk) mid-write leaves a line without its newline; start on
        # a fresh line so the first event of this batch is not glued to it.
        if size:
            file.seek(size - 1)  # reads only: in append mode every write goes to the end
            if file.read(1) != b"\n":
                data = b"\n" + data
        view = memoryview(data)
        while view:
            written = file.write(view)
            if not written:
                raise OSError(f"short write to {self.path}")
            view = view[written:]
        if self.fsync:
            os.fsync(file.fileno())

    def _open_locked(self) -> tuple[io.FileIO, int]:
        """The open file (following the path if someone rotated it) and its size."""
        file = self._file
        if file is not None:
            fst = os.fstat(file.fileno())
            try:
                st = os.stat(self.path)
            except FileNotFoundError:
                st = None
            if st is not None and st.st_ino == fst.st_ino and st.st_dev == fst.st_dev:
                return file, fst.st_size
            file.close()
            self._file = None
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # Unbuffered: each batch is already one bytes object, so a buffer would only
        # copy it. Readable too, for the tail check.
        file = self._file = open(self.path, "a+b", buffering=0)
        return file, os.fstat(file.fileno()).st_size

    def _rotate_locked(self) -> None:
        self._close_locked()
        rotate(self.path, self.backups, self.fsync)

    def _close_locked(self) -> None:
        file, self._file = self._file, None
        if file is not None:
            file.close()
