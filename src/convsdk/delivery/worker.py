"""The worker thread: drains the queue in batches, runs flush markers and write-ahead
rotations in queue order, and between batches does the upkeep (fsync, rotation by age,
looking for spooled segments, replay)."""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING

from ..event import Event
from .controls import Control, Marker, Rotate
from .counters import Counters
from .keeper import Keeper
from .replay import Replayer
from .sender import FAILED, FINAL, OK, Sender
from .wake import Wake

if TYPE_CHECKING:
    from .overflow import Overflow
    from .wal import WriteAheadLog

__all__ = ["Worker"]

log = logging.getLogger("convsdk.dispatch")

# How often the worker looks for segments other processes left behind.
_SCAN_INTERVAL = 5.0


class Worker:
    """What the worker thread runs (:meth:`run`), and the state it shares with ``close``.

    :attr:`batch` is the live batch being filled or written; ``take_lock`` guards the
    hand-over of events between this thread and ``close()``.
    """

    def __init__(
        self,
        queue: deque[Event | Control],
        wake: Wake,
        sender: Sender,
        wal: WriteAheadLog | None,
        overflow: Overflow,
        *,
        batch_size: int,
        flush_interval: float,
        limit: int,
        wal_max_age: float,
    ) -> None:
        self.queue = queue
        self.wake = wake
        self.sender = sender
        self.keeper: Keeper = sender.keeper
        self.counters: Counters = sender.counters
        spool = sender.keeper.spool
        self.replayer = Replayer(spool, sender, batch_size) if spool is not None else None
        self.wal = wal
        self.overflow = overflow
        self.batch_size = batch_size
        self.flush_interval = flush_interval
        self.limit = limit
        self.wal_max_age = wal_max_age
        self.take_lock = threading.Lock()
        self.batch: list[Event] = []
        self.stopping = False
        self.next_scan = 0.0

    def start(self) -> threading.Thread | None:
        """Start a thread running :meth:`run`; None when the interpreter is shutting down."""
        thread = threading.Thread(target=self.run, name="convsdk-dispatch", daemon=True)
        try:
            thread.start()
        except RuntimeError as exc:  # interpreter shutting down
            log.warning("cannot start the convsdk worker: %s", exc)
            return None
        return thread

    def run(self) -> None:
        """The thread's loop, until close() stops or abandons it."""
        sender = self.sender
        while not sender.abandoned:
            try:
                self.wake.wait(self.next_wait())
                self.wake.clear()
                self.drain()
                if sender.abandoned:
                    return
                self.upkeep()
                if self.stopping and not self.queue:
                    sender.close_backend()  # from the thread that owns it, as promised
                    return
            except BaseException:  # this thread is ours: it must outlive any error
                log.exception("convsdk dispatcher error")
                self.keeper.pending = False
                sender.interrupt.wait(min(1.0, self.flush_interval))

    def next_wait(self) -> float:
        """Seconds until the next thing to do, at most ``flush_interval``."""
        if self.stopping or len(self.queue) >= self.batch_size:
            return 0.0
        now = time.monotonic()
        wait = self.flush_interval
        if self.keeper.pending:
            health = self.sender.health
            wait = 0.0 if health.healthy else health.probe_at - now
        if self.replayer is not None:
            wait = min(wait, self.next_scan - now)
        segment = self.wal.segment if self.wal is not None else None
        if segment is not None:
            wait = min(wait, segment.created + self.wal_max_age - now)
        return max(0.0, min(wait, self.flush_interval))

    def drain(self) -> None:
        """Deliver what is queued now, in batches; run markers in order."""
        queue = self.queue
        take = self.take_lock
        budget = max(len(queue), self.batch_size)
        batch_size = self.batch_size
        sender = self.sender
        counters = self.counters
        while budget > 0:
            # Take up to a batch under one lock acquisition: the request threads
            # append without the lock, and a lock per event slowed them down.
            control: Control | None = None
            taken = 0
            with take:
                if sender.abandoned:
                    return
                batch = self.batch
                room = min(budget, max(1, batch_size - len(batch)))
                while taken < room:
                    try:
                        item = queue.popleft()
                    except IndexError:
                        break
                    taken += 1
                    if isinstance(item, Control):
                        control = item
                        break
                    batch.append(item)
                counters.taken += taken - (control is not None)
            if taken == 0:
                break
            budget -= taken
            if control is not None:
                self.send_batch()
                self._run_control(control)
            elif len(self.batch) >= batch_size:
                self.send_batch()
        self.send_batch()

    def _run_control(self, control: Control) -> None:
        if isinstance(control, Marker):
            self._complete(control)
        elif isinstance(control, Rotate) and self.wal is not None:
            if self.wal.retire(control.segment):
                self.keeper.pending = True

    def send_batch(self) -> None:
        """Deliver the live batch (or spool it while the backend is down)."""
        batch = self.batch
        if not batch:
            return
        sender = self.sender
        sending, erased = sender.sift(batch)
        if not sending:
            outcome, error = OK, None  # every one of them erased since
        elif self.replayer is not None and sender.health.waiting(time.monotonic()):
            outcome, error = FAILED, None  # degraded: straight to the spool until the probe
        else:
            outcome, error = sender.deliver(sending)
        with self.take_lock:
            if sender.abandoned:
                if outcome == OK:
                    self.counters.delivered += len(sending)
                    self.counters.erased += erased
                return  # close() took the batch over
            self.batch = []
        self.counters.erased += erased
        if outcome == OK:
            self.counters.delivered += len(sending)
            if sending and not sender.health.healthy:
                sender.recovered()
        elif outcome == FINAL:
            assert error is not None
            sender.refused(sending, error, replaying=False)
        else:
            self.keeper.store(sending)
            if error is not None:
                sender.degrade(error)
        unlogged = self.wal.unlogged if self.wal is not None else None
        if unlogged:
            for event in batch:
                unlogged.discard(event.event_id)

    def stop(
        self, thread: threading.Thread | None, deadline: float, flush: Callable[[float], bool]
    ) -> bool:
        """close(): let ``thread`` deliver until ``deadline``, then take back what it has
        not (to the spool, or counted lost). True when everything was delivered."""
        ok = True
        if thread is not None and thread.is_alive():
            ok = flush(max(0.0, deadline - time.monotonic()))
            self.stopping = True
            self.wake.set()
            thread.join(max(0.0, deadline - time.monotonic()))
        elif self.queue:
            ok = False
        if thread is not None and thread.is_alive():
            # Hung in the backend (a write, or its close): take back what is undelivered.
            if self.abandon():
                ok = False
        elif self.queue:  # no worker (it could not start): nothing else will send these
            self.abandon()
            ok = False
        return ok

    def abandon(self) -> int:
        """The thread did not finish in time: take back what it has not delivered.

        Returns how many events were taken back.
        """
        leftovers, taken = self.take_back()
        with self.counters.lock:
            self.counters.removed += taken
        if leftovers:
            self.overflow.left_behind(leftovers)
        return len(leftovers)

    def take_back(self) -> tuple[list[Event], int]:
        """For a close() that gives up on this thread: abandon it and take its batch and
        the queued events; how many of those came from the queue. Flush markers fail."""
        with self.take_lock:
            self.sender.abandoned = True
            events, self.batch = list(self.batch), []
            in_batch = len(events)
            queue = self.queue
            while True:
                try:
                    item = queue.popleft()
                except IndexError:
                    break
                if isinstance(item, Marker):
                    item.ok = False
                    item.done.set()
                elif isinstance(item, Event):
                    events.append(item)
        self.sender.interrupt.set()
        return events, len(events) - in_batch

    def _complete(self, marker: Marker) -> None:
        ok = True
        if self.replayer is not None and time.monotonic() < marker.deadline:
            ok = self.replayer.replay_all(marker.deadline)
        marker.ok = ok and self.counters.losses(self.keeper.spool) == marker.losses
        marker.done.set()

    def upkeep(self) -> None:
        """Between batches: rotate an old write-ahead segment, fsync, look for and replay
        spooled segments (not while stopping, nor while the backend is down)."""
        now = time.monotonic()
        if self.wal is not None:
            self.wal.rotate_if_older(self.wal_max_age)
        replayer = self.replayer
        if replayer is None:
            return
        spool = replayer.spool
        spool.sync()
        if now >= self.next_scan:
            self.next_scan = now + _SCAN_INTERVAL
            if spool.rescan():
                self.keeper.pending = True
        if self.stopping or self.sender.health.waiting(now):
            return
        # Our overflow segment becomes replayable once the queue has room again.
        if len(self.queue) < self.limit // 2 and spool.seal():
            self.keeper.pending = True
        if self.keeper.pending:
            replayer.replay_next()
