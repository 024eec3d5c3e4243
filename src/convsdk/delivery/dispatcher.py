"""The dispatcher: a bounded in-memory queue, its worker thread, flush and close.

:meth:`Dispatcher.put` appends to a bounded queue (a ``deque``: no lock on the common
path) and wakes the worker only when a batch is ready. One daemon worker thread
(:mod:`.worker`) drains the queue in batches of ``batch_size`` or every
``flush_interval`` seconds and calls ``Backend.write`` through :mod:`.sender`, with the
retries of :mod:`.retry`. A batch that still fails goes to the disk spool
(:mod:`.keeper`), the backend is marked down (:mod:`.health`), and the spool is replayed
once it answers (:mod:`.replay`).

Backpressure, when the queue is full: ``"spool"`` (write the event to the spool),
``"drop_newest"`` or ``"drop_oldest"``; every event is counted in :meth:`Dispatcher.stats`.

With ``durable=True`` every event is also appended to the write-ahead log (:mod:`.wal`)
before ``put`` returns, so a killed process loses nothing ``put`` accepted. Delivery is
at-least-once: after a crash, or a ``close`` that gave up on a hung backend, some events
may be sent twice (sinks dedupe by ``event_id``).

Every wait has a timeout, so ``flush`` and ``close`` return whatever the backend does.
The dispatcher restarts itself in a forked child (``os.register_at_fork`` plus a process
id check), starting with an empty queue: what the parent had queued is the parent's.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
import weakref
from collections import deque
from typing import TYPE_CHECKING, Literal

from ..event import Event
from .controls import Control, Marker
from .counters import Counters, Warnings
from .keeper import Keeper, serialise
from .overflow import Overflow
from .replay import Replayer
from .retry import RetryPolicy
from .sender import Sender
from .wal import WriteAheadLog
from .worker import Worker

if TYPE_CHECKING:
    from ..backends import Backend
    from .spool import Spool

__all__ = ["BACKPRESSURE_POLICIES", "Backpressure", "Dispatcher"]

log = logging.getLogger("convsdk.dispatch")

Backpressure = Literal["spool", "drop_newest", "drop_oldest"]
BACKPRESSURE_POLICIES: tuple[str, ...] = ("spool", "drop_newest", "drop_oldest")

_getpid = os.getpid
_monotonic = time.monotonic


class Dispatcher:
    """A bounded queue and one worker thread that delivers batches to a backend.

    >>> dispatcher = Dispatcher(backend, spool=Spool(".convsdk-spool"), durable=True)
    >>> dispatcher.put(event)
    >>> dispatcher.flush(timeout=5.0)

    ``backpressure`` defaults to ``"spool"`` with a spool and ``"drop_newest"`` without.
    The queue bound is exact for one emitting thread and may be overshot by one event
    per concurrently emitting thread.
    """

    def __init__(
        self,
        backend: Backend,
        *,
        batch_size: int = 100,
        flush_interval: float = 1.0,
        max_queue_size: int = 10_000,
        max_retries: int = 5,
        retry_max_delay: float = 30.0,
        retry_timeout: float = 60.0,
        retry_base_delay: float = 0.1,
        spool: Spool | None = None,
        durable: bool = False,
        backpressure: Backpressure | None = None,
        shutdown_timeout: float = 5.0,
        wal_max_age: float = 5.0,
    ) -> None:
        self.backpressure: Backpressure = _check(backpressure, spool, durable)
        self.backend = backend
        self.batch_size = batch_size
        self.flush_interval = flush_interval
        self.max_queue_size = max_queue_size
        self.max_retries = max_retries
        self.retry_max_delay = retry_max_delay
        self.retry_timeout = retry_timeout
        self.retry_base_delay = retry_base_delay
        self.retry = RetryPolicy(retry_base_delay, retry_max_delay, max_retries, retry_timeout)
        self.spool = spool
        self.durable = durable
        self.shutdown_timeout = shutdown_timeout
        self.wal_max_age = wal_max_age
        self._limit = max_queue_size
        self._wake_at = batch_size - 1
        self._closed = False
        self._init_state()
        self._pid = self._owner_pid = _getpid()
        _dispatchers.add(self)
        # The worker starts with the first event (or a flush/close with spooled events
        # waiting): a tracker that records nothing runs no thread.

    def _init_state(self) -> None:
        """Everything a process owns alone: queue, locks, thread, counters."""
        queue: deque[Event | Control] = deque()
        self._queue = queue
        self._wake = threading.Event()
        self._lock = threading.Lock()  # counters and lifecycle
        self._thread: threading.Thread | None = None
        # Anything but the lock-free append goes through put's slow path.
        self._slow = self.durable or self._closed
        self._counters = counters = Counters(self._lock)
        warnings = Warnings(log)
        spool = self.spool
        wal = None
        if self.durable and spool is not None:
            wal = WriteAheadLog(spool, queue, self._lock, warnings)
        self._wal = wal
        self._keeper = keeper = Keeper(spool, wal, counters, warnings)
        self._sender = sender = Sender(self.backend, self.retry, keeper, counters, warnings)
        replayer = Replayer(spool, sender, self.batch_size) if spool is not None else None
        self._worker = Worker(
            queue,
            self._wake,
            sender,
            replayer,
            wal,
            batch_size=self.batch_size,
            flush_interval=self.flush_interval,
            limit=self._limit,
            wal_max_age=self.wal_max_age,
        )
        self._overflow = Overflow(
            queue, self._wake, self.backpressure, keeper, wal, warnings, self.max_queue_size
        )

    # -- request thread -------------------------------------------------------------

    def put(self, event: Event) -> bool:
        """Queue ``event`` without blocking on the backend.

        Returns True when the event is kept (queued, or spooled because the queue is
        full), False when it is dropped (counted in :meth:`stats`).
        """
        queue = self._queue
        n = len(queue)
        if n == 0 or n >= self._limit or self._slow:
            return self._put_slow(event)
        queue.append(event)
        if n >= self._wake_at and not self._wake.is_set():
            self._wake_worker()
        return True

    def _wake_worker(self) -> None:
        thread = self._thread
        if thread is None or self._pid != _getpid() or not thread.is_alive():
            self._ensure_worker()
        self._wake.set()

    def _put_slow(self, event: Event) -> bool:
        thread = self._thread
        if thread is None or self._pid != _getpid() or not thread.is_alive():
            self._ensure_worker()
        if self._closed:
            return self._overflow.closed(event)
        if self._wal is not None:
            return self._put_durable(event, self._wal)
        queue = self._queue
        if len(queue) >= self._limit:
            return self._overflow.full(event, None)
        queue.append(event)
        if len(queue) >= self.batch_size:
            self._wake.set()
        return True

    def _put_durable(self, event: Event, wal: WriteAheadLog) -> bool:
        line = serialise(event)
        wake = False
        with wal.lock:
            if self._closed:
                return self._overflow.closed(event)
            logged = line is not None and wal.append(line)
            queue = self._queue
            if len(queue) >= self._limit:
                # Under the lock: the event must be stored before its segment can retire.
                kept = self._overflow.full(event, line, logged)
            else:
                if not logged:  # before the worker can take (and forget) it
                    wal.unlogged.add(event.event_id)
                queue.append(event)
                kept = True
                wake = len(queue) >= self.batch_size
            wal.rotate_if_full()
        if wake and not self._wake.is_set():
            self._wake.set()
        return kept

    # -- any thread -----------------------------------------------------------------

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until every event put so far is delivered, the spool replayed with them;
        False on timeout, when something went to the spool and stays there, or was lost.
        """
        if self._thread is None and not self._queue and not self._spool_waiting():
            return True  # never started, nothing to deliver: no thread for that
        self._ensure_worker()
        if self._thread is None or not self._thread.is_alive():
            return not self._queue
        marker = Marker(_monotonic() + timeout, self._counters.losses(self.spool))
        self._queue.append(marker)
        self._wake.set()
        if not marker.done.wait(timeout):
            return False
        return marker.ok

    def close(self, timeout: float | None = None) -> bool:
        """Deliver for at most ``timeout`` seconds (default ``shutdown_timeout``), stop the
        worker and close the backend; what is left goes to the spool. True when
        everything was delivered. Never blocks much past ``timeout``.

        When the backend hangs, the batch inside the hung write is spooled too: if that
        write completes later, those events are delivered twice (at-least-once).
        """
        deadline = _monotonic() + (self.shutdown_timeout if timeout is None else timeout)
        if (self._queue or (self._thread is None and self._spool_waiting())) and not self._closed:
            # A forked child that queued events but never woke the worker, or a spool
            # holding what a previous process left: deliver it before stopping.
            self._ensure_worker()
        with self._lock:
            if self._closed:
                return True
            self._closed = True
        if self._pid != _getpid():
            self._reset_after_fork()
        self._slow = True
        self._sender.deadline = deadline
        self._sender.interrupt.set()
        if self._wal is not None:
            with self._wal.lock:
                self._wal.rotate()
        thread = self._thread
        ok = self._stop_worker(thread, deadline)
        if self.spool is not None:
            try:
                self.spool.close()
            except OSError as exc:
                log.warning("closing the spool failed: %s", exc)
        if thread is None and self._owner_pid == _getpid():
            # No worker ever ran (a hung one keeps the backend open). In a forked child
            # that never used it, the backend's connections are the parent's: leave them.
            self._sender.close_backend()
        return ok

    def _stop_worker(self, thread: threading.Thread | None, deadline: float) -> bool:
        """Let the worker deliver until ``deadline``, then take back what it has not."""
        ok = True
        if thread is not None and thread.is_alive():
            ok = self.flush(max(0.0, deadline - _monotonic()))
            self._worker.stopping = True
            self._wake.set()
            thread.join(max(0.0, deadline - _monotonic()))
        elif self._queue:
            ok = False
        if thread is not None and thread.is_alive():
            # Hung in the backend (a write, or its close): take back what is undelivered.
            if self._abandon():
                ok = False
        elif self._queue:  # no worker (it could not start): nothing else will send these
            self._abandon()
            ok = False
        return ok

    def _spool_waiting(self) -> bool:
        """Whether the spool directory holds segments to replay (a directory scan)."""
        return self.spool is not None and self._keeper.pending and self.spool.rescan()

    def _abandon(self) -> int:
        """The worker did not finish in time: take back what it has not delivered.

        Returns how many events were taken back.
        """
        worker = self._worker
        with worker.take_lock:
            self._sender.abandoned = True
            leftovers, worker.batch = list(worker.batch), []
            taken = _take_events(self._queue)
        self._sender.interrupt.set()
        with self._lock:
            self._counters.removed += len(taken)
        leftovers += taken
        if leftovers:
            self._overflow.left_behind(leftovers)
        return len(leftovers)

    def stats(self) -> dict[str, int]:
        """Counters since start (or since fork, in a forked child).

        ``enqueued`` events put in the queue; ``delivered`` accepted by the backend
        (replayed ones included); ``retried`` write attempts repeated; ``spooled`` written
        to the spool; ``replayed`` delivered from the spool; ``dead_lettered`` refused for
        good, or spool lines that do not validate, set aside; ``dropped`` lost (queue full
        with a drop policy, no spool, spool over its limit); ``queued`` waiting in memory;
        ``spool_bytes`` disk used by the spool; ``corrupt`` unreadable spool lines skipped.
        """
        items = list(self._queue)
        in_batch = len(self._worker.batch)
        queued = sum(1 for item in items if not isinstance(item, Control)) + in_batch
        return self._counters.snapshot(queued, in_batch, self.spool)

    # -- fork -----------------------------------------------------------------------

    def _ensure_worker(self) -> None:
        """Start the worker in this process if it is not running (after a fork)."""
        # The lock may have been held at a fork that ran no hook: then go on without it.
        locked = _fork_lock.acquire(timeout=1.0)
        try:
            if self._pid != _getpid():
                self._reset_after_fork()
            thread = self._thread
            if (thread is None or not thread.is_alive()) and not self._closed:
                self._start()
        finally:
            if locked:
                _fork_lock.release()

    def _reset_after_fork(self, *, keep_queue: bool = True) -> None:
        queue = self._queue
        self._init_state()
        if keep_queue and queue:
            # A fork that ran no at-fork hook: the parent's queued events may go out twice,
            # better than losing this process's own.
            self._queue.extend(item for item in queue if isinstance(item, Event))
        if self.spool is not None:
            self.spool.after_fork()
        self._pid = _getpid()

    def _fork_child(self) -> None:
        """at-fork hook: a clean slate; the next put (or flush) starts the worker."""
        self._reset_after_fork(keep_queue=False)

    def _start(self) -> None:
        thread = threading.Thread(target=self._worker.run, name="convsdk-dispatch", daemon=True)
        try:
            thread.start()
        except RuntimeError as exc:  # interpreter shutting down
            log.warning("cannot start the convsdk worker: %s", exc)
            return
        self._thread = thread

    def __repr__(self) -> str:
        return f"<Dispatcher backend={type(self.backend).__name__} queued={len(self._queue)}>"


def _check(backpressure: Backpressure | None, spool: Spool | None, durable: bool) -> Backpressure:
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


def _take_events(queue: deque[Event | Control]) -> list[Event]:
    """Empty ``queue``: its events, in order; flush markers waiting in it fail."""
    events: list[Event] = []
    while True:
        try:
            item = queue.popleft()
        except IndexError:
            return events
        if isinstance(item, Marker):
            item.ok = False
            item.done.set()
        elif isinstance(item, Event):
            events.append(item)


# -- process lifecycle ---------------------------------------------------------------

_dispatchers: weakref.WeakSet[Dispatcher] = weakref.WeakSet()
_fork_lock = threading.Lock()


def _after_fork_in_child() -> None:
    global _fork_lock
    _fork_lock = threading.Lock()
    for dispatcher in list(_dispatchers):
        try:
            dispatcher._fork_child()
        except Exception:
            log.exception("resetting a dispatcher after fork failed")


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


@atexit.register
def _close_all() -> None:
    # Dispatchers whose Tracker is gone (or used directly); each close is bounded.
    for dispatcher in list(_dispatchers):
        if not dispatcher._closed:
            try:
                dispatcher.close()
            except Exception:
                log.exception("closing a dispatcher at exit failed")
