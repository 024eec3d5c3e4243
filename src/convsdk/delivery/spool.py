"""The disk spool: where events wait when they cannot (yet) reach the backend.

A spool is a directory of append-only JSON Lines *segments*, one ``Event.to_dict()`` a
line::

    spool_dir/
      00017323860001234567-4242-9f3a1c2e.wal.jsonl   write-ahead segment (durable mode)
      00017323860009876543-4242-0b7d6e11.seg.jsonl   overflow, undelivered batches
      00017323850000000000-4100-5e5e0a0a.seg.4243-77aa0c13.claimed.jsonl   being replayed
      dead-letter/00017323860001111111-4242-c0ffee00.jsonl   refused for good, with the error
      destination                                 whose spool this is (:mod:`.owner`)

Names start with the creation time in nanoseconds, so sorting them sorts segments
oldest first; the process id and a random part keep the names of processes sharing one
directory (pre-forked web workers) apart. Ownership is an exclusive ``flock``
(:mod:`.directory`); sharing a directory between live processes needs POSIX advisory
locks on a local file system, without ``fcntl`` the spool assumes one process per
directory. Reading is forgiving (:mod:`.claim`). Disk use is bounded by ``max_bytes``:
past it the oldest claimable segments are deleted and their events counted in
:attr:`Spool.evicted`.
"""

from __future__ import annotations

import logging
import os
import threading
from collections import deque
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..event import Event
from . import directory as listing
from .claim import Claim
from .deadletter import DeadLetters
from .eviction import EvictionNotice
from .files import Segment
from .owner import claim_directory
from .writer import SegmentWriter

__all__ = ["DEFAULT_MAX_BYTES", "SEGMENT_BYTES", "Spool"]

log = logging.getLogger("convsdk.spool")

DEFAULT_MAX_BYTES = 512 * 1024 * 1024
SEGMENT_BYTES = 4 * 1024 * 1024


class Spool:
    """A spool directory: overflow and write-ahead segments, replay claims, dead letters.

    >>> spool = Spool(".convsdk-spool", max_bytes=64 * 1024 * 1024)
    >>> spool.append([b'{"event_id": ...}\\n'])
    >>> claim = spool.claim_next()          # oldest claimable segment, or None

    ``max_bytes`` bounds the segments (not the dead letters); ``fsync`` makes
    :meth:`sync` flush written segments to disk (the dispatcher calls it once a cycle),
    and new files' directory entries with them. The directory is created on first write.
    ``owner`` is the key of the destination the spool is for: recorded in the directory
    (:mod:`.owner`) when it is set up, here if it exists, else when it is created.
    """

    def __init__(
        self,
        directory: str | os.PathLike[str],
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
        fsync: bool = False,
        segment_bytes: int = SEGMENT_BYTES,
        owner: str | None = None,
    ) -> None:
        self.directory = Path(os.path.abspath(directory))
        if self.directory.exists() and not self.directory.is_dir():
            raise ConfigError(f"{self.directory} exists and is not a directory", field="spool_dir")
        self.owner = owner
        if owner is not None and self.directory.is_dir():
            claim_directory(self.directory, owner, fsync=fsync)
        self.dead_letter_dir = self.directory / "dead-letter"
        self.max_bytes = max_bytes
        self.fsync = fsync
        self.segment_bytes = max(1024, min(segment_bytes, max_bytes // 4))
        self.corrupt = 0
        #: Spool lines whose event did not validate, set aside in ``dead-letter/``.
        self.quarantined = 0
        self._notice = EvictionNotice(max_bytes)
        self._dead = DeadLetters(
            self.dead_letter_dir, segment_bytes=self.segment_bytes, fsync=fsync
        )
        self._init_state()
        self.rescan()

    def _init_state(self) -> None:
        # Reentrant: eviction (under the lock) deletes through Claim.finish -> forget.
        self._lock = threading.RLock()
        self._writer = SegmentWriter(
            self.directory,
            self._lock,
            segment_bytes=self.segment_bytes,
            fsync=self.fsync,
            owner=self.owner,
        )
        self._claims: set[Claim] = set()
        self._claimed_names: set[str] = set()
        # Segment names from the last listing not tried yet, oldest first: a replay lists
        # the directory once, not once a claim (which made it quadratic in the files).
        self._queued_names: deque[str] = deque()

    @property
    def evicted(self) -> int:
        """Events deleted with the oldest segments to keep under ``max_bytes``."""
        return self._notice.evicted

    # -- accounting -----------------------------------------------------------------

    @property
    def used_bytes(self) -> int:
        """Disk used by segments (an estimate between rescans, exact after one)."""
        return self._writer.bytes + self._writer.wal_bytes()

    def rescan(self) -> bool:
        """Recount the disk use and clear stale temporary files; True when segments wait.

        Waiting segments are those of other processes or already sealed ones; whether
        they are claimable (their owner gone) is only known by trying.
        """
        entries = listing.list_entries(self.directory)
        if entries is None:
            return False
        with self._lock:
            own_wal = self._writer.own_wal_names()
            busy = self._writer.open.keys() | self._claimed_names
            self._writer.bytes, waiting = listing.measure(entries, own_wal, busy)
        return waiting

    def forget(self, claim: Claim, size: int) -> None:
        """A claim is over: ``size`` bytes left with it; its read errors are counted."""
        with self._lock:
            self._claims.discard(claim)
            self._claimed_names.discard(claim.path.name)
            self._writer.bytes -= size
            self.corrupt += claim.corrupt + claim.torn
            claim.corrupt = claim.torn = 0

    # -- writing --------------------------------------------------------------------

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
            self._writer.append_locked(data)
        return len(lines)

    def seal(self) -> bool:
        """Close this process's overflow segment so it can be replayed; True if it held data."""
        with self._lock:
            segment = self._writer.overflow
            if segment is None:
                return False
            self._writer.close_locked(segment, unlink_empty=True)
            return segment.size > 0

    def write_sealed(self, ns: str, data: bytes) -> None:
        """Write ``data`` as a complete, unlocked segment named with the age ``ns``."""
        self._writer.write_sealed(ns, data)

    # -- write-ahead log (durable mode) ----------------------------------------------

    def open_wal(self) -> Segment:
        """Create a locked write-ahead segment; the caller serialises its writes."""
        with self._lock:
            return self._writer.new_segment_locked("wal")

    def retire(self, segment: Segment, *, keep: bool = False) -> None:
        """Close a write-ahead segment whose events were all delivered (or spooled) and
        delete it; with ``keep`` leave it to be replayed instead."""
        with self._lock:
            try:
                if not keep or segment.size == 0:
                    # Unlinked while still locked, so no replayer can claim it in between.
                    segment.path.unlink(missing_ok=True)
                else:
                    self._writer.bytes += segment.size
            finally:  # closed even when the unlink is refused: no descriptor left open
                self._writer.close_locked(segment)

    # -- replay ---------------------------------------------------------------------

    def _candidates(self) -> list[str]:
        """The regular files named like segments, except our own, oldest first."""
        names = listing.list_segments(self.directory)
        with self._lock:
            skip = self._writer.open.keys() | self._claimed_names
        return [n for n in names if n not in skip]

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
                ours = name in self._writer.open or name in self._claimed_names
            if not ours and (claim := self._claim(name)) is not None:
                return claim

    def _claim(self, name: str) -> Claim | None:
        claimed = listing.claim_file(self.directory, name)
        if claimed is None:
            return None
        path, fd, size = claimed
        claim = Claim(self, path, fd, size)
        with self._lock:
            self._claims.add(claim)
            self._claimed_names.add(path.name)
        return claim

    # -- dead letters -----------------------------------------------------------------

    def dead_letter(self, events: Sequence[Event], error: BaseException) -> None:
        """Append events the backend refused for good to ``dead-letter/``, with the error.

        Each line is ``{"error": ..., "error_type": ..., "failed_at": ..., "event": {...}}``.
        Raises ``OSError`` when the disk refuses the write.
        """
        self._dead.refused(events, error)

    def quarantine(self, event: dict[str, Any], error: str) -> None:
        """Set aside in ``dead-letter/`` a serialised event that does not validate.

        The line has the shape :meth:`dead_letter` writes (``error_type``
        ``"ValidationError"``), the event as it was read. Raises ``OSError`` when the disk
        refuses the write.
        """
        self._dead.invalid(event, error)
        with self._lock:
            self.quarantined += 1

    # -- bounds -------------------------------------------------------------------------

    def _evict_locked(self, need: int) -> bool:
        """Delete the oldest claimable segments until ``need`` more bytes fit."""
        if need > self.max_bytes:
            return False  # it can never fit: keep what is there
        # Another process may have replayed and deleted segments since the last count.
        self.rescan()
        if self.used_bytes + need <= self.max_bytes:
            return True
        overflow = self._writer.overflow
        if overflow is not None:
            # Our own overflow may be the oldest.
            self._writer.close_locked(overflow, unlink_empty=True)
        for name in self._candidates():
            if self.used_bytes + need <= self.max_bytes:
                break
            claim = self._claim(name)
            if claim is None:
                continue
            lost = claim.count_events()
            claim.finish()
            self._notice.evicted_events(lost)
        return self.used_bytes + need <= self.max_bytes

    # -- upkeep ---------------------------------------------------------------------

    def sync(self) -> None:
        """With ``fsync``: flush every segment written since the last call to disk."""
        self._writer.sync()

    def close(self) -> None:
        """Seal the overflow segment and release open write-ahead segments (kept for replay)."""
        with self._lock:
            self._writer.close()
            self._dead.close()

    def after_fork(self) -> None:
        """In a forked child: drop the parent's open files (they stay the parent's)."""
        inherited = self._writer
        claims = list(self._claims)
        self._init_state()
        self._notice = EvictionNotice(self.max_bytes)  # counts are per process
        self.corrupt = self.quarantined = 0
        inherited.drop_inherited()
        self._dead.after_fork()
        for claim in claims:
            claim.close()

    def __repr__(self) -> str:
        return f"<Spool {str(self.directory)!r} bytes={self.used_bytes}>"
