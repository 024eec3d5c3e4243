"""``file://``: events as JSON Lines, one event (``Event.to_dict()``) a line, rotated by size.

::

    tracker = convsdk.Tracker(backend="file:///var/log/shop/events.jsonl?max_bytes=50000000")
    ...
    for event in read_events("/var/log/shop/events.jsonl"):
        print(event.timestamp, event.name, event.value)

URLs: everything between ``file://`` and ``?`` is the path (percent-decoded), so
``file:///var/log/events.jsonl`` is absolute and ``file://events.jsonl`` or
``file://./data/events.jsonl`` are relative to the working directory at construction.
Options, as keywords or query parameters: ``max_bytes`` (rotate before a batch would
take the file past it; default 100 MiB, 0 never rotates), ``backups`` (rotated files
kept, default 10) and ``fsync`` (``os.fsync`` after every batch, default off).

Rotated files are numbered like :class:`logging.handlers.RotatingFileHandler` and
logrotate name them: ``events.jsonl.1`` is the newest, ``events.jsonl.N`` the oldest,
and anything past ``backups`` is deleted. Numbered rather than timestamped because the
set of files is then fixed and predictable for operators and log shippers; the renames
do not disturb readers, since :func:`read_events` opens every file before it reads one.

Each batch is serialised in full, then written with a single ``write`` in append mode,
so a batch is never split between files nor interleaved with another writer's. Several
processes (pre-forked web workers) may share one file: before each batch a writer checks
that the path still names the file it holds open and follows it if another process (or
logrotate) rotated it. Rotation itself is not locked between processes, so two workers
rotating at once can leave a short file; no event is lost beyond the ``backups`` limit.
"""

from __future__ import annotations

import io
import logging
import os
import re
import threading
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from .._json import dumps, loads
from ..delivery.files import fsync_dir
from ..errors import BackendError, ConfigError
from ..event import Event

__all__ = ["DEFAULT_BACKUPS", "DEFAULT_MAX_BYTES", "FileBackend", "read_events"]

_log = logging.getLogger("convsdk.backends.file")

DEFAULT_MAX_BYTES = 100 * 1024 * 1024
DEFAULT_BACKUPS = 10

# How long write() and close() wait for each other; the lock is held only for one
# write() of one batch, so this is reached only when the file system hangs.
_LOCK_TIMEOUT = 10.0
# A line longer than this is garbage (an event is at most a few hundred KiB): the
# reader skips it instead of holding it in memory.
_MAX_LINE = 16 * 1024 * 1024
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


class FileBackend:
    """Append events to a JSON Lines file, rotating it by size.

    >>> backend = FileBackend("events.jsonl", max_bytes=10_000_000, backups=5)
    >>> backend.write([event])
    >>> list(backend.read())
    [Event(name='signup', ...)]

    ``write`` is meant for one thread (the dispatcher's); the file is opened there, on
    the first batch. ``close`` may come from any thread; a ``write`` after ``close``
    opens the file again.
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

    @classmethod
    def from_url(cls, url: str, **options: Any) -> FileBackend:
        """Build from ``file:///abs/events.jsonl?max_bytes=1000000&backups=5&fsync=true``.

        Keyword ``options`` override the query parameters. A bad or unknown option
        raises :class:`convsdk.ConfigError` naming it.
        """
        parts = urlsplit(url)
        if parts.scheme.lower() != "file":
            raise ConfigError(f"not a file:// URL: {url!r}", field="backend", source=url)
        path = unquote(parts.netloc + parts.path)
        if not path:
            raise ConfigError(
                "a file URL needs a path, e.g. file:///var/log/events.jsonl or file://events.jsonl",
                field="path",
                source=url,
            )
        opts = url_options(parts.query, options, {"max_bytes", "backups", "fsync"}, url)
        kwargs: dict[str, Any] = {}
        if "max_bytes" in opts:
            kwargs["max_bytes"] = int_option("max_bytes", opts["max_bytes"], url)
        if "backups" in opts:
            kwargs["backups"] = int_option("backups", opts["backups"], url)
        if "fsync" in opts:
            kwargs["fsync"] = bool_option("fsync", opts["fsync"], url)
        return cls(path, **kwargs)

    def __repr__(self) -> str:
        return (
            f"FileBackend({str(self.path)!r}, max_bytes={self.max_bytes}, "
            f"backups={self.backups}, fsync={self.fsync})"
        )

    def write(self, events: Sequence[Event]) -> None:
        """Append the batch as one write; raise :class:`convsdk.BackendError` on an I/O error.

        An event that cannot be serialised is logged and left out; the rest are written.
        """
        data = _encode(events)
        if not data:
            return
        self._after_fork()
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
        """Close the file (from any thread); a later :meth:`write` reopens it."""
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
        file, size = self._open_locked()
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
        # Highest number first, so each rename goes to a name already moved away.
        for index, rotated in sorted(_rotated_files(self.path).items(), reverse=True):
            try:
                if index >= self.backups:
                    rotated.unlink()
                else:
                    os.replace(rotated, _numbered(self.path, index + 1))
            except FileNotFoundError:
                pass  # another process rotated it first
        try:
            if self.backups:
                os.replace(self.path, _numbered(self.path, 1))
            else:
                self.path.unlink()
        except FileNotFoundError:
            pass
        if self.fsync:
            fsync_dir(self.path.parent)
        _log.debug("rotated %s", self.path)

    def _close_locked(self) -> None:
        file, self._file = self._file, None
        if file is not None:
            file.close()


def read_events(path: str | os.PathLike[str], *, dedupe: bool = True) -> Iterator[Event]:
    """Stream the events of a JSON Lines log: rotated files oldest first, then the current one.

    >>> for event in read_events("events.jsonl"):
    ...     print(event.name)

    ``path`` is the current file's path (or a ``file://`` URL). Files are read a line
    at a time. A line that is not an event (torn by a crash, garbage) is skipped with a
    warning on the ``convsdk.backends.file`` logger. With ``dedupe`` an event re-sent
    after a failed delivery is returned once; that keeps a set of the ids seen (about
    100 bytes an event), so pass ``dedupe=False`` for logs of many millions of events.
    Raises ``FileNotFoundError`` when neither the file nor a rotated one exists.
    """
    if isinstance(path, str) and path.lower().startswith("file://"):
        path = FileBackend.from_url(path).path
    base = Path(path)
    rotated = _rotated_files(base)
    files = [rotated[index] for index in sorted(rotated, reverse=True)]
    if base.exists():
        files.append(base)
    if not files:
        raise FileNotFoundError(f"no event log at {base} (nor rotated files of it)")
    return _read_files(files, dedupe)


def _read_files(files: list[Path], dedupe: bool) -> Iterator[Event]:
    handles: list[tuple[Path, io.BufferedReader]] = []
    try:
        for name in files:
            try:
                handles.append((name, open(name, "rb")))
            except FileNotFoundError:
                continue  # rotated away since it was listed; its events moved to an older name
        seen: set[str] | None = set() if dedupe else None
        for name, handle in handles:
            for event in _read_lines(name, handle):
                if seen is not None:
                    event_id = event.event_id
                    if event_id in seen:
                        continue
                    seen.add(event_id)
                yield event
    finally:
        for _, handle in handles:
            handle.close()


def _read_lines(name: Path, handle: io.BufferedReader) -> Iterator[Event]:
    lineno = 0
    while line := handle.readline(_MAX_LINE):
        lineno += 1
        if not line.endswith(b"\n"):
            if len(line) == _MAX_LINE:
                while (rest := handle.readline(_MAX_LINE)) and not rest.endswith(b"\n"):
                    pass
                _log.warning("%s:%d: skipped a line longer than %d bytes", name, lineno, _MAX_LINE)
            elif line.strip():
                _log.warning("%s:%d: skipped a torn last line (no newline)", name, lineno)
            continue
        if not line.strip():
            continue  # left by a writer that repaired a torn line
        try:
            data = loads(line)
            if not (
                isinstance(data, dict)
                and isinstance(data.get("event_id"), str)
                and isinstance(data.get("name"), str)
                and isinstance(data.get("timestamp"), str)
            ):
                raise ValueError("not an event (event_id, name and timestamp are required)")
            event = Event.from_dict(data)
        except Exception as exc:
            _log.warning("%s:%d: skipped a line that is not an event: %s", name, lineno, exc)
            continue
        yield event


def _encode(events: Sequence[Event]) -> bytearray:
    """The batch as JSON Lines; an event that cannot be serialised is logged and left out."""
    # Appending to one buffer, rather than joining a list of lines, keeps the working set
    # small: about a third faster on batches of 1,000.
    buf = bytearray()
    for event in events:
        try:
            buf += dumps(event.to_dict())
        except Exception as exc:
            _log.error(
                "event %s (%r) cannot be serialised and is dropped: %s",
                event.event_id,
                event.name,
                exc,
            )
            continue
        buf += b"\n"
    return buf


def _numbered(base: Path, index: int) -> Path:
    return base.with_name(f"{base.name}.{index}")


def _rotated_files(base: Path) -> dict[int, Path]:
    """``{n: path}`` of the rotated files ``<base>.<n>`` that exist."""
    pattern = re.compile(re.escape(base.name) + r"\.([1-9][0-9]*)\Z")
    found: dict[int, Path] = {}
    try:
        entries = list(os.scandir(base.parent))
    except FileNotFoundError:
        return found
    for entry in entries:
        match = pattern.match(entry.name)
        if match and entry.is_file():
            found[int(match.group(1))] = Path(entry.path)
    return found


# -- URL options (shared with the other embedded backends) ---------------------------


def url_options(
    query: str, overrides: Mapping[str, Any], known: set[str], source: str
) -> dict[str, Any]:
    """Merge a URL's query parameters with keyword ``overrides``; reject unknown names."""
    options: dict[str, Any] = dict(parse_qsl(query, keep_blank_values=True))
    options.update(overrides)
    for name in options:
        if name not in known:
            raise ConfigError(
                f"unknown option {name!r}; known: {', '.join(sorted(known))}",
                field=name,
                source=source,
            )
    return options


def int_option(name: str, value: Any, source: str | None = None) -> int:
    """``value`` (an int or its text) as a whole number >= 0, or a ConfigError naming ``name``."""
    if isinstance(value, str):
        try:
            value = int(value.strip())
        except ValueError:
            pass
    if type(value) is not int or value < 0:
        raise ConfigError(
            f"must be a whole number of 0 or more, got {value!r}", field=name, source=source
        )
    return value


def float_option(name: str, value: Any, source: str | None = None) -> float:
    """``value`` (a number or its text) as seconds >= 0, or a ConfigError naming ``name``."""
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            pass
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < 1e9:
        raise ConfigError(
            f"must be a number of seconds (0 or more), got {value!r}", field=name, source=source
        )
    return float(value)


def bool_option(name: str, value: Any, source: str | None = None) -> bool:
    """``value`` (a bool or true/false, 1/0, yes/no, on/off) as a bool, or a ConfigError."""
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    if isinstance(value, bool):
        return value
    raise ConfigError(
        f"must be true or false (1/0, yes/no, on/off), got {value!r}", field=name, source=source
    )
