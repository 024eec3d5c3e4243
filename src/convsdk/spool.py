"""The disk spool: where events wait when they cannot (yet) reach the backend.

A spool is a directory of append-only JSON Lines *segments*, one ``Event.to_dict()`` a
line::

    spool_dir/
      00017323860001234567-4242-9f3a1c2e.wal.jsonl   write-ahead segment (durable mode)
      00017323860009876543-4242-0b7d6e11.seg.jsonl   overflow, undelivered batches
      00017323850000000000-4100-5e5e0a0a.seg.4243-77aa0c13.claimed.jsonl   being replayed
      dead-letter/00017323860001111111-4242-c0ffee00.jsonl   refused for good, with the error

Names start with the creation time in nanoseconds, so sorting them sorts segments
oldest first; the process id and a random part keep the names of processes sharing one
directory (pre-forked web workers) apart.

Ownership. A process owns a segment while it holds an exclusive ``flock`` on it: the
writer locks a segment it creates before writing to it, and a replayer claims one by
locking it and then renaming it (``.claimed``) atomically, so exactly one process sends
it. The kernel drops the lock when its owner dies, however it dies, so the segments of a
crashed process (its write-ahead log included) are claimable by the next process that
looks. Sharing a spool directory between live processes needs these POSIX advisory locks
(Linux, macOS, BSD) on a local file system; without ``fcntl`` the spool assumes one
process per directory.

Reading is forgiving: an unreadable line (garbage, or the torn last line of a crashed
writer) is skipped and counted in :attr:`Spool.corrupt`, never fatal. A readable line
whose event does not validate (``"value": "12,50"``) is set aside alone in
``dead-letter/`` with the reason, counted in :attr:`Spool.quarantined`, so that it never
reaches a backend and takes the good events of its batch down with it. Disk use is bounded
by ``max_bytes``: past it the oldest claimable segments are deleted and their events
counted in :attr:`Spool.evicted`.
"""

from __future__ import annotations

import errno
import logging
import math
import os
import re
import secrets
import stat
import threading
import time
from collections import deque
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from marshmallow import ValidationError

from ._json import dumps, loads
from .errors import ConfigError
from .event import Event, load_event

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "DEFAULT_MAX_BYTES",
    "SEGMENT_BYTES",
    "Claim",
    "Segment",
    "Spool",
    "SpoolWriteError",
    "parse_line",
]

log = logging.getLogger("convsdk.spool")

DEFAULT_MAX_BYTES = 512 * 1024 * 1024
SEGMENT_BYTES = 4 * 1024 * 1024
# No event comes near this (properties are capped at 32k characters); a longer "line" is
# garbage and is skipped without being held in memory whole.
MAX_LINE = 4 * 1024 * 1024

_SEGMENT = re.compile(
    r"(?P<stem>(?P<ns>\d{20})-\d+-[0-9a-f]{8})\.(?P<kind>seg|wal)"
    r"(?:\.(?P<claimer>\d+)-[0-9a-f]{8}\.claimed)?\.jsonl\Z"
)
_TMP_PREFIX = ".tmp-"
_WARN_INTERVAL = 60.0  # seconds between two warnings of lost events


def _try_lock(fd: int) -> bool:
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


def _stem() -> str:
    return f"{time.time_ns():020d}-{os.getpid()}-{secrets.token_hex(4)}"


class SpoolWriteError(OSError):
    """The disk refused a spool write part way: the first ``stored`` lines are whole on
    disk, the rest is not there at all (the torn part was cut off).

    It carries the ``errno`` and message of the refusal (``ENOSPC`` on a full disk).
    """

    def __init__(self, cause: OSError, stored: int) -> None:
        super().__init__(cause.errno, cause.strerror or str(cause))
        self.stored = stored


def parse_line(raw: bytes) -> Event | None:
    """Rebuild the event a spool line holds, or ``None`` when the line is unreadable."""
    try:
        data = loads(raw)
        if (
            not isinstance(data, dict)
            or not isinstance(data.get("event_id"), str)
            or not isinstance(data.get("name"), str)
        ):
            return None
        return Event.from_dict(data)
    except Exception:
        return None


class _Invalid:
    """A readable spool line whose event does not validate, and why."""

    __slots__ = ("data", "error")

    def __init__(self, data: dict[str, Any], error: str) -> None:
        self.data = data
        self.error = error


def _read_line(raw: bytes) -> Event | _Invalid | None:
    """The validated event of a spool line, an :class:`_Invalid` one, or ``None`` (unreadable)."""
    try:
        data = loads(raw)
    except Exception:
        return None
    if (
        not isinstance(data, dict)
        or not isinstance(data.get("event_id"), str)
        or not isinstance(data.get("name"), str)
    ):
        return None
    try:
        return load_event(data)
    except ValidationError as exc:
        return _Invalid(data, _describe(exc.messages))
    except Exception as exc:  # a date that overflows in UTC, or stranger
        return _Invalid(data, f"{type(exc).__name__}: {exc}")


def _describe(messages: Any) -> str:
    if isinstance(messages, dict):
        return "; ".join(f"{field}: {_describe(problem)}" for field, problem in messages.items())
    if isinstance(messages, list):
        return " ".join(_describe(m) for m in messages)
    return str(messages)


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


class Claim:
    """A segment this process claimed for replay.

    Read it with :meth:`batches`, then :meth:`finish` (delete: everything was sent),
    :meth:`keep` (write back what is left, delete the rest) or :meth:`release` (leave the
    file as it is for a later claim).
    """

    def __init__(self, spool: Spool, path: Path, fd: int, size: int) -> None:
        self.spool = spool
        self.path = path
        self.size = size
        self.corrupt = 0
        self.torn = 0
        self.quarantined = 0
        self._file: IO[bytes] = open(fd, "rb", closefd=True)
        self._closed = False

    def _lines(self) -> Iterator[bytes]:
        readline = self._file.readline
        while True:
            raw = readline(MAX_LINE)
            if not raw:
                return
            if len(raw) == MAX_LINE and not raw.endswith(b"\n"):
                # Garbage without a newline in sight: skip to the end of it.
                while True:
                    more = readline(MAX_LINE)
                    if not more or more.endswith(b"\n"):
                        break
                self.corrupt += 1
                continue
            yield raw

    def batches(self, size: int) -> Iterator[list[tuple[bytes, Event]]]:
        """Yield the readable events in batches of at most ``size``, with their raw lines.

        Unreadable lines are skipped and counted in :attr:`corrupt` (a torn last line,
        the mark of a writer that died mid-write, in :attr:`torn`); events that do not
        validate go to ``dead-letter/`` alone (:meth:`Spool.quarantine`), counted in
        :attr:`quarantined`.
        """
        batch: list[tuple[bytes, Event]] = []
        for raw in self._lines():
            if not raw.strip():
                continue
            event = _read_line(raw)
            if event is None:
                if raw.endswith(b"\n"):
                    self.corrupt += 1
                else:
                    self.torn += 1
                continue
            if isinstance(event, _Invalid):
                try:
                    self.spool.quarantine(event.data, event.error)
                except OSError as exc:
                    log.error("cannot set an invalid event aside (%s): it is lost", exc)
                    self.corrupt += 1
                else:
                    self.quarantined += 1
                continue
            if not raw.endswith(b"\n"):
                raw += b"\n"
            batch.append((raw, event))
            if len(batch) >= size:
                yield batch
                batch = []
        if batch:
            yield batch

    def count_events(self) -> int:
        """Count the lines left to read (cheaply: no parsing)."""
        count = 0
        for chunk in iter(lambda: self._file.read(1 << 20), b""):
            count += chunk.count(b"\n")
        return count

    def finish(self) -> None:
        """Everything in the segment was handled: delete it."""
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass
        self.spool._forget(self, self.size)
        self._close()

    def keep(self, pending: Sequence[bytes]) -> None:
        """Write ``pending`` and the unread rest to a new segment (same age), delete this one.

        On an I/O error the segment is released unchanged instead: its delivered part
        will be sent again (at-least-once), nothing is lost.
        """
        try:
            rest = self._file.read()
            data = b"".join(pending) + rest
            if data:
                match = _SEGMENT.match(self.path.name)
                ns = match["ns"] if match else f"{time.time_ns():020d}"
                self.spool._write_sealed(ns, data)
        except OSError as exc:
            log.warning("could not rewrite spool segment %s (%s); keeping it whole", self.path, exc)
            self.release()
            return
        self.spool.relist()  # the rewritten rest is the oldest segment again
        self.finish()

    def release(self) -> None:
        """Give the claim up and leave the file for a later replay."""
        self.spool.relist()  # it goes first again, before the rest of the last listing
        self.spool._forget(self, 0)
        self._close()

    def _close(self) -> None:
        if not self._closed:
            self._closed = True
            self._file.close()


class Spool:
    """A spool directory: overflow and write-ahead segments, replay claims, dead letters.

    >>> spool = Spool(".convsdk-spool", max_bytes=64 * 1024 * 1024)
    >>> spool.append([b'{"event_id": ...}\\n'])
    >>> claim = spool.claim_next()          # oldest claimable segment, or None

    ``max_bytes`` bounds the segments (not the dead letters); ``fsync`` makes
    :meth:`sync` flush written segments to disk (the dispatcher calls it once a cycle),
    and new files' directory entries with them. The directory is created on first write.
    """

    def __init__(
        self,
        directory: str | os.PathLike[str],
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
        fsync: bool = False,
        segment_bytes: int = SEGMENT_BYTES,
    ) -> None:
        self.directory = Path(os.path.abspath(directory))
        if self.directory.exists() and not self.directory.is_dir():
            raise ConfigError(f"{self.directory} exists and is not a directory", field="spool_dir")
        self.dead_letter_dir = self.directory / "dead-letter"
        self.max_bytes = max_bytes
        self.fsync = fsync
        self.segment_bytes = max(1024, min(segment_bytes, max_bytes // 4))
        self.evicted = 0
        self.corrupt = 0
        #: Spool lines whose event did not validate, set aside in ``dead-letter/``.
        self.quarantined = 0
        self._warned_at = -math.inf
        self._unreported = 0
        self._init_state()
        self.rescan()

    def _init_state(self) -> None:
        # Reentrant: eviction (under the lock) deletes through Claim.finish -> _forget.
        self._lock = threading.RLock()
        self._overflow: Segment | None = None
        self._dead: Segment | None = None
        self._open: dict[str, Segment] = {}  # our open segments: overflow and write-ahead
        self._claims: set[Claim] = set()
        self._claimed_names: set[str] = set()
        # Segment names from the last listing not tried yet, oldest first: a replay lists
        # the directory once, not once a claim (which made it quadratic in the files).
        self._queued_names: deque[str] = deque()
        # Bytes of the segment files, except our open write-ahead segments (see bytes).
        self._bytes = 0
        self._made_dir = False
        self._dir_dirty = False

    # -- accounting -----------------------------------------------------------------

    @property
    def used_bytes(self) -> int:
        """Disk used by segments (an estimate between rescans, exact after one)."""
        wal = sum(s.size for s in list(self._open.values()) if s is not self._overflow)
        return self._bytes + wal

    def rescan(self) -> bool:
        """Recount the disk use and clear stale temporary files; True when segments wait.

        Waiting segments are those of other processes or already sealed ones; whether
        they are claimable (their owner gone) is only known by trying.
        """
        total = 0
        waiting = False
        try:
            entries = list(os.scandir(self.directory))
        except FileNotFoundError:
            entries = []
        except OSError as exc:
            log.warning("cannot list the spool directory %s: %s", self.directory, exc)
            return False
        with self._lock:
            own_wal = {name for name, s in self._open.items() if s is not self._overflow}
            for entry in entries:
                name = entry.name
                if name.startswith(_TMP_PREFIX):
                    self._remove_stale_tmp(Path(entry.path))
                    continue
                if _SEGMENT.match(name) is None or name in own_wal:
                    continue
                try:
                    if not entry.is_file(follow_symlinks=False):
                        continue  # a stray directory (or link) named like a segment
                    total += entry.stat(follow_symlinks=False).st_size
                except OSError:
                    continue
                if name not in self._open and name not in self._claimed_names:
                    waiting = True
            self._bytes = total
        return waiting

    def _remove_stale_tmp(self, path: Path) -> None:
        # A temporary file is locked while it is written; unlocked, its writer died.
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError:
            return
        try:
            if _try_lock(fd):
                path.unlink(missing_ok=True)
        except OSError:
            pass
        finally:
            os.close(fd)

    def _forget(self, claim: Claim, size: int) -> None:
        with self._lock:
            self._claims.discard(claim)
            self._claimed_names.discard(claim.path.name)
            self._bytes -= size
            self.corrupt += claim.corrupt + claim.torn
            claim.corrupt = claim.torn = 0

    # -- writing --------------------------------------------------------------------

    def _ensure_dir(self) -> None:
        if not self._made_dir:
            os.makedirs(self.directory, mode=0o700, exist_ok=True)
            self._made_dir = True

    def _new_segment(self, kind: str) -> Segment:
        self._ensure_dir()
        for _ in range(5):
            path = self.directory / f"{_stem()}.{kind}.jsonl"
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o600)
            try:
                locked = _try_lock(fd)
            except OSError:
                os.close(fd)
                raise
            if locked:
                segment = Segment(path, fd)
                self._open[segment.name] = segment
                self._dir_dirty = True  # its directory entry is synced with its data
                return segment
            # A replayer locked the empty file first; it will delete it. Make another.
            os.close(fd)
        raise OSError(errno.EAGAIN, "could not create a spool segment", str(self.directory))

    def append(self, lines: Sequence[bytes]) -> int:
        """Append serialised events (each ending in a newline) to this process's overflow
        segment; return how many were stored (0 when the spool is full and nothing older
        could be evicted). Raises ``OSError`` when the disk refuses the write:
        :class:`SpoolWriteError` with how many lines were stored whole before it.
        """
        data = b"".join(lines)
        if not data:
            return 0
        with self._lock:
            if self.used_bytes + len(data) > self.max_bytes and not self._evict_locked(len(data)):
                return 0
            segment = self._overflow
            if segment is None or segment.broken or segment.size >= self.segment_bytes:
                if segment is not None:
                    self._close_locked(segment, unlink_empty=True)
                segment = self._overflow = self._new_segment("seg")
            before = segment.size
            try:
                segment.write(data)
            finally:
                self._bytes += segment.size - before
        return len(lines)

    def seal(self) -> bool:
        """Close this process's overflow segment so it can be replayed; True if it held data."""
        with self._lock:
            segment = self._overflow
            if segment is None:
                return False
            self._close_locked(segment, unlink_empty=True)
            return segment.size > 0

    def _close_locked(self, segment: Segment, *, unlink_empty: bool = False) -> None:
        if self._open.pop(segment.name, None) is not None:
            if unlink_empty and segment.size == 0:
                # Still locked: no replayer can have claimed the empty file meanwhile.
                segment.path.unlink(missing_ok=True)
            os.close(segment.fd)
        if segment is self._overflow:
            self._overflow = None

    def _write_sealed(self, ns: str, data: bytes) -> None:
        """Write ``data`` as a complete, unlocked segment named with the age ``ns``."""
        self._ensure_dir()
        name = f"{ns}-{os.getpid()}-{secrets.token_hex(4)}.seg.jsonl"
        tmp = self.directory / f"{_TMP_PREFIX}{name}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            _try_lock(fd)
            view = memoryview(data)
            while view:
                n = os.write(fd, view)
                view = view[n:]
            if self.fsync:
                os.fsync(fd)
            os.rename(tmp, self.directory / name)
        except OSError:
            tmp.unlink(missing_ok=True)
            raise
        finally:
            os.close(fd)
        with self._lock:
            self._bytes += len(data)

    # -- write-ahead log (durable mode) ----------------------------------------------

    def open_wal(self) -> Segment:
        """Create a locked write-ahead segment; the caller serialises its writes."""
        with self._lock:
            return self._new_segment("wal")

    def retire(self, segment: Segment, *, keep: bool = False) -> None:
        """Close a write-ahead segment whose events were all delivered (or spooled) and
        delete it; with ``keep`` leave it to be replayed instead."""
        with self._lock:
            if not keep or segment.size == 0:
                # Unlinked while still locked, so no replayer can claim it in between.
                segment.path.unlink(missing_ok=True)
            else:
                self._bytes += segment.size
            self._close_locked(segment)

    # -- replay ---------------------------------------------------------------------

    def _candidates(self) -> list[str]:
        """The regular files named like segments, except our own, oldest first."""
        names = []
        try:
            with os.scandir(self.directory) as entries:
                for entry in entries:
                    if _SEGMENT.match(entry.name) is None:
                        continue
                    try:
                        if entry.is_file(follow_symlinks=False):
                            names.append(entry.name)
                    except OSError:
                        continue
        except OSError:
            return []
        with self._lock:
            skip = self._open.keys() | self._claimed_names
        return sorted(n for n in names if n not in skip)

    def relist(self) -> None:
        """Forget the last listing: the next :meth:`claim_next` lists the directory again."""
        self._queued_names = deque()

    def claim_next(self) -> Claim | None:
        """Claim the oldest segment no live process owns; ``None`` when there is none.

        Works through one listing of the directory before it lists it again, so
        replaying ``n`` segments costs a couple of listings, not ``n``.
        """
        queued = self._queued_names
        listed = False
        while True:
            if not queued:
                if listed:
                    return None
                queued = self._queued_names = deque(self._candidates())
                listed = True
                continue
            name = queued.popleft()
            with self._lock:
                ours = name in self._open or name in self._claimed_names
            if not ours and (claim := self._claim(name)) is not None:
                return claim

    def _claim(self, name: str) -> Claim | None:
        match = _SEGMENT.match(name)
        if match is None:
            return None
        if fcntl is None and match["claimer"] == str(os.getpid()):  # pragma: no cover
            return None
        path = self.directory / name
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError:
            return None
        try:
            if not _try_lock(fd):
                os.close(fd)
                return None
            claimed = self.directory / (
                f"{match['stem']}.{match['kind']}.{os.getpid()}-{secrets.token_hex(4)}"
                ".claimed.jsonl"
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
        claim = Claim(self, claimed, fd, st.st_size)
        with self._lock:
            self._claims.add(claim)
            self._claimed_names.add(claimed.name)
        return claim

    # -- dead letters -----------------------------------------------------------------

    def dead_letter(self, events: Sequence[Event], error: BaseException) -> None:
        """Append events the backend refused for good to ``dead-letter/``, with the error.

        Each line is ``{"error": ..., "error_type": ..., "failed_at": ..., "event": {...}}``.
        Raises ``OSError`` when the disk refuses the write.
        """
        head = {
            "error": str(error),
            "error_type": type(error).__name__,
            "failed_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        data = b"".join(dumps({**head, "event": e.to_dict()}) + b"\n" for e in events)
        self._write_dead_letters(data)

    def quarantine(self, event: dict[str, Any], error: str) -> None:
        """Set aside in ``dead-letter/`` a serialised event that does not validate.

        The line has the shape :meth:`dead_letter` writes (``error_type``
        ``"ValidationError"``), the event as it was read. Raises ``OSError`` when the disk
        refuses the write.
        """
        head = {
            "error": error,
            "error_type": "ValidationError",
            "failed_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        self._write_dead_letters(dumps({**head, "event": event}) + b"\n")
        with self._lock:
            self.quarantined += 1

    def _write_dead_letters(self, data: bytes) -> None:
        with self._lock:
            segment = self._dead
            if segment is None or segment.broken or segment.size >= self.segment_bytes:
                if segment is not None:
                    os.close(segment.fd)
                    self._dead = None
                os.makedirs(self.dead_letter_dir, mode=0o700, exist_ok=True)
                path = self.dead_letter_dir / f"{_stem()}.jsonl"
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o600)
                segment = self._dead = Segment(path, fd)
            try:
                segment.write(data)
            except OSError:
                if segment.size == 0:  # leave no empty file behind
                    segment.path.unlink(missing_ok=True)
                    os.close(segment.fd)
                    self._dead = None
                raise
            if self.fsync:
                os.fsync(segment.fd)

    # -- bounds -------------------------------------------------------------------------

    def _evict_locked(self, need: int) -> bool:
        """Delete the oldest claimable segments until ``need`` more bytes fit."""
        if need > self.max_bytes:
            return False  # it can never fit: keep what is there
        # Another process may have replayed and deleted segments since the last count.
        self.rescan()
        if self.used_bytes + need <= self.max_bytes:
            return True
        if self._overflow is not None:
            # Our own overflow may be the oldest.
            self._close_locked(self._overflow, unlink_empty=True)
        for name in self._candidates():
            if self.used_bytes + need <= self.max_bytes:
                break
            claim = self._claim(name)
            if claim is None:
                continue
            lost = claim.count_events()
            claim.finish()
            self.evicted += lost
            self._warn_evicted(lost)
        return self.used_bytes + need <= self.max_bytes

    def _warn_evicted(self, lost: int) -> None:
        """Say what eviction lost, at most once a minute (the counts are in stats())."""
        self._unreported += lost
        now = time.monotonic()
        if now - self._warned_at >= _WARN_INTERVAL:
            log.warning(
                "spool over its limit of %d bytes: deleted the oldest segments "
                "(%d events lost since the last warning, %d in all)",
                self.max_bytes,
                self._unreported,
                self.evicted,
            )
            self._warned_at, self._unreported = now, 0

    # -- upkeep ---------------------------------------------------------------------

    def sync(self) -> None:
        """With ``fsync``: flush every segment written since the last call to disk."""
        if not self.fsync:
            return
        with self._lock:
            segments = [s for s in self._open.values() if s.dirty]
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
            self._fsync_dir(self.directory)

    @staticmethod
    def _fsync_dir(directory: Path) -> None:
        try:
            fd = os.open(directory, os.O_RDONLY)
        except OSError:
            return
        try:
            os.fsync(fd)
        except OSError:
            pass
        finally:
            os.close(fd)

    def close(self) -> None:
        """Seal the overflow segment and release open write-ahead segments (kept for replay)."""
        with self._lock:
            for segment in list(self._open.values()):
                if segment is not self._overflow:
                    self._bytes += segment.size
                self._close_locked(segment, unlink_empty=True)
            if self._dead is not None:
                os.close(self._dead.fd)
                self._dead = None

    def after_fork(self) -> None:
        """In a forked child: drop the parent's open files (they stay the parent's)."""
        inherited = list(self._open.values())
        dead = self._dead
        claims = list(self._claims)
        self._init_state()
        self.evicted = self.corrupt = self._unreported = 0  # counts are per process
        self.quarantined = 0
        for segment in inherited:
            _close_quietly(segment.fd)
        if dead is not None:
            _close_quietly(dead.fd)
        for claim in claims:
            claim._close()

    def __repr__(self) -> str:
        return f"<Spool {str(self.directory)!r} bytes={self.used_bytes}>"


def _close_quietly(fd: int) -> None:
    try:
        os.close(fd)
    except OSError:
        pass
