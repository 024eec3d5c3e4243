"""Where events go that cannot be delivered now: the spool, dead letters, or counted lost.

Every event a dispatcher accepted ends delivered, on disk, or counted in ``dropped``;
this module does the on-disk and the counting part, exactly on a partial write.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from ..event import Event
from .counters import Counters, Warnings
from .files import SpoolWriteError, disk_reason

if TYPE_CHECKING:
    from .spool import Spool
    from .wal import WriteAheadLog

__all__ = ["Keeper", "serialise"]

log = logging.getLogger("convsdk.dispatch")


def serialise(event: Event) -> bytes | None:
    """The spool line of ``event``, or None (logged) when it cannot be serialised."""
    try:
        return event.to_json() + b"\n"
    except Exception:
        log.exception("cannot serialise event %s", event.name)
        return None


class Keeper:
    """Keeps undeliverable events in ``spool`` (or counts them lost without one).

    :attr:`pending` is true when segments may wait on disk for replay.
    """

    def __init__(
        self,
        spool: Spool | None,
        wal: WriteAheadLog | None,
        counters: Counters,
        warnings: Warnings,
    ) -> None:
        self.spool = spool
        self.wal = wal
        self.counters = counters
        self.warnings = warnings
        self.pending = spool is not None

    def store(self, events: Sequence[Event]) -> None:
        """Keep a batch that could not be delivered: in the spool, or count it lost."""
        if self.spool is not None:
            wal = self.wal
            logged = [e.event_id not in wal.unlogged for e in events] if wal is not None else None
            self.spool_lines([serialise(e) for e in events], len(events), logged)
            self.pending = True
            return
        counters = self.counters
        with counters.lock:
            counters.dropped += len(events)
        self.warnings.warn(
            "the backend failed and there is no spool_dir: %d events dropped so far",
            counters.dropped,
            level=logging.ERROR,
        )

    def spool_lines(
        self, lines: Sequence[bytes | None], count: int, logged: Sequence[bool] | None = None
    ) -> bool:
        """Append serialised events to the spool; count them spooled, or dropped.

        ``logged[i]``: event ``i`` is in a live write-ahead segment, so when the spool
        refuses it, it is not lost: that segment is kept for replay instead of deleted.
        Exact on a partial write: only what reached the disk whole counts as spooled.
        """
        spool = self.spool
        assert spool is not None
        flags = logged if logged is not None else [False] * len(lines)
        good = [(line, flag) for line, flag in zip(lines, flags, strict=True) if line is not None]
        stored = 0
        error: Exception | None = None
        try:
            stored = spool.append([line for line, _ in good])
        except SpoolWriteError as exc:
            stored, error = exc.stored, exc
        except Exception as exc:
            # A full disk (OSError), or whatever else refuses the write (an asyncio
            # app's test guard against blocking calls on its event loop, say): what
            # did not reach the spool is counted below, never lost uncounted.
            error = exc
        wal = self.wal
        in_wal = sum(1 for _, flag in good[stored:] if flag) if wal is not None else 0
        counters = self.counters
        with counters.lock:
            if wal is None or not wal.live:
                in_wal = 0  # defensive: a logged event's segment is live until it is handled
            lost = count - stored - in_wal
            counters.spooled += stored
            if in_wal and wal is not None:
                # Still in its write-ahead segment, one of those not yet retired: keep
                # them all for replay (at-least-once) rather than lose it.
                for segment in wal.live:
                    segment.keep = True
            counters.dropped += lost
        if stored < len(good):
            self._refused(error, "dropped" if lost else "kept in the write-ahead log")
        elif lost:
            self.warnings.warn("events that cannot be serialised: dropped")
        return lost == 0

    def _refused(self, error: Exception | None, fate: str) -> None:
        assert self.spool is not None
        if error is not None:
            self.warnings.warn(
                "cannot write to the spool %s (%s): events %s",
                self.spool.directory,
                disk_reason(error),
                fate,
            )
        else:
            self.warnings.warn(
                "spool over its limit (%d bytes): events %s", self.spool.max_bytes, fate
            )

    def drop(self, count: int) -> None:
        """Count ``count`` events lost."""
        with self.counters.lock:
            self.counters.dropped += count

    def dead_letter(
        self, events: Sequence[Event], error: Exception, *, stays: bool = False
    ) -> bool:
        """Keep a batch the backend refused for good in ``dead-letter/``; True if kept.

        With ``stays`` the events are still in a claimed segment, so a failed write
        loses nothing: the segment keeps them.
        """
        spool = self.spool
        if spool is None:
            self.drop(len(events))
            self.warnings.warn(
                "backend refused events for good (%s); dropped (no spool_dir)",
                error,
                level=logging.ERROR,
            )
            return False
        try:
            spool.dead_letter(events, error)
        except OSError as exc:
            stored = exc.stored if isinstance(exc, SpoolWriteError) else 0
            self.counters.dead_lettered += stored
            self.warnings.warn(
                "cannot write dead letters to %s (%s): events %s",
                spool.dead_letter_dir,
                disk_reason(exc),
                "kept in the spool" if stays else "lost",
                level=logging.ERROR,
            )
            if not stays:
                self.drop(len(events) - stored)
            return False
        self.counters.dead_lettered += len(events)
        self.warnings.warn(
            "backend refused events for good (%s); %d so far kept in %s",
            error,
            self.counters.dead_lettered,
            spool.dead_letter_dir,
            level=logging.ERROR,
        )
        return True
