"""The write-ahead log of durable mode, and its back-off on a full disk.

Every event is appended, with one unbuffered ``os.write``, to the spool's current
write-ahead segment before ``put`` returns. A :class:`~.controls.Rotate` item follows the
last event of a segment in the queue: once the worker passes it, the segment is retired
(deleted), or kept for replay when one of its events is stored nowhere else. When an
append fails (a full disk, or anything else refusing it), appends pause for a growing
back-off and events wait in memory only; their ids are kept in
:attr:`WriteAheadLog.unlogged`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING

from .controls import Control, Rotate
from .counters import Warnings
from .files import Segment, disk_reason

if TYPE_CHECKING:
    from ..event import Event
    from .spool import Spool

__all__ = ["WriteAheadLog"]

log = logging.getLogger("convsdk.dispatch")

# After a failed append (a full disk), appends pause for a back-off growing from the
# first to the last value: on a full disk every track() would otherwise try the disk
# again, and a failing new segment cost a file and a descriptor per event.
_RETRY_FIRST = 0.1
_RETRY_MAX = 5.0


class WriteAheadLog:
    """The write-ahead segments of one dispatcher; :attr:`lock` orders append + enqueue.

    :attr:`live` (segments opened and not yet retired, oldest first) changes under the
    dispatcher's counters lock, ``live_lock``.
    """

    def __init__(
        self,
        spool: Spool,
        queue: deque[Event | Control],
        live_lock: threading.Lock,
        warnings: Warnings,
    ) -> None:
        self.spool = spool
        self.queue = queue
        self.live_lock = live_lock
        self.warnings = warnings
        self.lock = threading.Lock()
        self.segment: Segment | None = None
        self.live: list[Segment] = []
        self.backoff = 0.0  # not 0: appends failed, none tried before retry_at
        self.retry_at = 0.0
        # Ids of queued events the log does not hold (its append failed or was skipped):
        # if they cannot be delivered or spooled, they are lost, and counted.
        self.unlogged: set[str] = set()

    def append(self, line: bytes) -> bool:
        """Append one serialised event (under :attr:`lock`); False when it is not logged."""
        if self.backoff and time.monotonic() < self.retry_at:
            return False
        try:
            segment = self.segment
            if segment is None:
                segment = self.segment = self.spool.open_wal()
                with self.live_lock:
                    self.live.append(segment)
            segment.write(line)
        except Exception as exc:
            # A full disk (OSError), or whatever else refuses the append (an asyncio
            # app's test guard against blocking calls on its event loop, say): the
            # event is queued all the same, in memory only, never lost.
            self._failed(exc)
            return False
        if self.backoff:
            self.backoff = 0.0
            log.info("the write-ahead log is writable again")
        return True

    def enqueue(
        self,
        event: Event,
        line: bytes | None,
        limit: int,
        batch_size: int,
        full: Callable[[Event, bytes | None, bool], bool],
    ) -> tuple[bool, bool]:
        """Log ``event`` and queue it, in one order (under :attr:`lock`); ``full`` takes
        it when the queue holds ``limit`` items. Whether it is kept, and whether a batch
        is ready."""
        logged = line is not None and self.append(line)
        queue = self.queue
        wake = False
        if len(queue) >= limit:
            # Under the lock: the event must be stored before its segment can retire.
            kept = full(event, line, logged)
        else:
            if not logged:  # before the worker can take (and forget) it
                self.unlogged.add(event.event_id)
            queue.append(event)
            kept = True
            wake = len(queue) >= batch_size
        self.rotate_if_full()
        return kept, wake

    def _failed(self, exc: Exception) -> None:
        """An append failed (under :attr:`lock`): pause appends for a while.

        The current segment stays if it holds events and ends with a whole line (the
        torn part is cut off); an empty one is deleted at once, so a full disk leaves
        neither empty files nor open descriptors behind.
        """
        segment = self.segment
        if segment is not None and segment.size == 0:
            self.segment = None
            with self.live_lock:
                if segment in self.live:
                    self.live.remove(segment)
            try:
                self.spool.retire(segment)
            except Exception:
                # Refused as the append was (a full disk, an event loop's guard against
                # blocking calls): an empty file left behind, which a replay skips.
                pass
        elif segment is not None and segment.broken:
            self.rotate()
        delay = self.backoff = min(max(2 * self.backoff, _RETRY_FIRST), _RETRY_MAX)
        self.retry_at = time.monotonic() + delay
        self.warnings.warn(
            "cannot append to the write-ahead log in %s (%s): new events are kept in "
            "memory only (not crash-safe) until it works again",
            self.spool.directory,
            disk_reason(exc),
        )

    def rotate(self) -> None:
        """End the current segment (under :attr:`lock`): a Rotate item follows its events."""
        segment = self.segment
        if segment is not None:
            self.segment = None
            self.queue.append(Rotate(segment))

    def rotate_if_full(self) -> None:
        """Rotate when the current segment reached the spool's segment size (under lock)."""
        segment = self.segment
        if segment is not None and segment.size >= self.spool.segment_bytes:
            self.rotate()

    def rotate_if_older(self, max_age: float) -> None:
        """Rotate the current segment when it is ``max_age`` seconds old."""
        with self.lock:
            segment = self.segment
            if segment is not None and time.monotonic() - segment.created >= max_age:
                self.rotate()

    def retire(self, segment: Segment) -> bool:
        """The worker passed the segment's last event: delete it, or keep it for replay.

        True when it was kept (it holds an event stored nowhere else).
        """
        with self.live_lock:
            keep = segment.keep
            if segment in self.live:
                self.live.remove(segment)
        try:
            self.spool.sync()  # what replaced the segment is on disk before it goes
            self.spool.retire(segment, keep=keep)
        except OSError as exc:
            log.warning("cannot retire a write-ahead segment: %s", exc)
        return keep
