"""Events the queue cannot take: the backpressure policy when it is full, events put
after ``close()``, and those a ``close()`` took back from a late worker."""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal

from ..event import Event
from .controls import Control
from .counters import Warnings
from .keeper import Keeper, serialise
from .wake import Wake

if TYPE_CHECKING:
    from .spool import Spool
    from .wal import WriteAheadLog

__all__ = ["BACKPRESSURE_POLICIES", "Backpressure", "Overflow", "check_policy"]

log = logging.getLogger("convsdk.dispatch")

Backpressure = Literal["spool", "drop_newest", "drop_oldest"]
BACKPRESSURE_POLICIES: tuple[str, ...] = ("spool", "drop_newest", "drop_oldest")


def check_policy(
    backpressure: Backpressure | None, spool: Spool | None, durable: bool
) -> Backpressure:
    """The backpressure policy (its default filled in), or ValueError on a bad setup."""
    if backpressure is None:
        backpressure = "spool" if spool is not None else "drop_newest"
    if backpressure not in BACKPRESSURE_POLICIES:
        raise ValueError(
            f"backpressure must be one of {', '.join(BACKPRESSURE_POLICIES)}, got {backpressure!r}"
        )
    if backpressure == "spool" and spool is None:
        raise ValueError("backpressure='spool' needs a spool directory")
    if durable and spool is None:
        raise ValueError("durable=True needs a spool directory")
    return backpressure


class Overflow:
    """Applies ``policy`` (``"spool"``, ``"drop_newest"``, ``"drop_oldest"``) to ``queue``."""

    def __init__(
        self,
        queue: deque[Event | Control],
        wake: Wake,
        policy: Backpressure,
        keeper: Keeper,
        wal: WriteAheadLog | None,
        warnings: Warnings,
        max_queue_size: int,
    ) -> None:
        self.queue = queue
        self.wake = wake
        self.policy = policy
        self.keeper = keeper
        self.counters = keeper.counters
        self.wal = wal
        self.warnings = warnings
        self.max_queue_size = max_queue_size  # for the warnings

    def full(self, event: Event, line: bytes | None, logged: bool = False) -> bool:
        """The queue is full: apply the policy (``logged``: the event is in the
        write-ahead log). True when the event is kept."""
        if not self.wake.is_set():
            self.wake.set()
        if self.policy == "spool":
            return self.keeper.spool_lines(
                [line if line is not None else serialise(event)], 1, [logged]
            )
        if self.policy == "drop_oldest":
            self._drop_oldest(event, logged)
            return True
        self.keeper.drop(1)
        self.warnings.warn("queue full (%d events): dropping new events", self.max_queue_size)
        return False

    def _drop_oldest(self, event: Event, logged: bool) -> None:
        # Flush markers and rotations keep their place: the oldest event behind them
        # is the one dropped.
        queue = self.queue
        held: list[Control] = []
        oldest: Event | Control | None = None
        while queue:
            try:
                oldest = queue.popleft()
            except IndexError:  # the worker took the rest meanwhile
                oldest = None
                break
            if not isinstance(oldest, Control):
                break
            held.append(oldest)
            oldest = None
        queue.extendleft(reversed(held))
        wal = self.wal
        if not logged and wal is not None:
            wal.unlogged.add(event.event_id)
        queue.append(event)
        if isinstance(oldest, Event):
            if wal is not None:
                wal.unlogged.discard(oldest.event_id)
            with self.counters.lock:
                self.counters.removed += 1
                self.counters.dropped += 1
            self.warnings.warn("queue full (%d events): dropping the oldest", self.max_queue_size)

    def closed(self, event: Event) -> bool:
        """An event put after close(): to the spool (sealed at once), or dropped."""
        spool = self.keeper.spool
        if spool is not None:
            kept = self.keeper.spool_lines([serialise(event)], 1)
            spool.seal()  # no worker any more: leave it to the next tracker at once
            return kept
        self.keeper.drop(1)
        self.warnings.warn("event tracked after close(): dropped")
        return False

    def late(self, event: Event) -> bool:
        """``event`` was queued as close() ran, maybe after its worker stopped: the close
        took it (to deliver, spool or count), or it is taken back here and handled as
        put after close. True when the event is kept."""
        try:
            self.queue.remove(event)
        except ValueError:
            return True
        with self.counters.lock:
            self.counters.removed += 1
        return self.closed(event)

    def left_behind(self, leftovers: Sequence[Event]) -> None:
        """Events close() took back from a late worker: spool them, or count them lost."""
        keeper = self.keeper
        spool = keeper.spool
        wal = self.wal
        if wal is not None:
            # Those in a write-ahead segment are released with it, for replay; those
            # its append missed (a full disk) are spooled, or counted lost.
            unlogged = [e for e in leftovers if e.event_id in wal.unlogged]
            wal.unlogged.clear()
            if unlogged:
                keeper.spool_lines([serialise(e) for e in unlogged], len(unlogged))
            log.warning(
                "convsdk closed before delivering %d events; the next start replays them",
                len(leftovers),
            )
        elif spool is not None:
            keeper.spool_lines([serialise(e) for e in leftovers], len(leftovers))
            log.warning(
                "convsdk closed before delivering %d events; they wait in %s",
                len(leftovers),
                spool.directory,
            )
        else:
            keeper.drop(len(leftovers))
            log.warning(
                "convsdk closed with %d undelivered events (no spool_dir: lost)", len(leftovers)
            )
