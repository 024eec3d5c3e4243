"""The dispatcher: a bounded in-memory queue, its worker thread, flush and close.

:meth:`Dispatcher.put` appends to a bounded ``deque`` (no lock on the common path) and
wakes the worker (:mod:`.worker`) only when a batch is ready; a full queue follows the
backpressure policy (:mod:`.overflow`). With ``durable=True`` every event is also
appended to the write-ahead log (:mod:`.wal`) before ``put`` returns. Delivery is
at-least-once. Every wait has a timeout, so ``flush`` and ``close`` return whatever the
backend does. The dispatcher restarts itself in a forked child (:mod:`.lifecycle` plus
a process id check), starting with an empty queue: what the parent had queued is the
parent's.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import deque
from typing import TYPE_CHECKING

from ..event import Event
from ..shutdown import defer_signals
from . import lifecycle
from .controls import Control, Marker
from .counters import Counters, Warnings
from .keeper import Keeper, serialise
from .overflow import BACKPRESSURE_POLICIES, Backpressure, Overflow, check_policy
from .retry import RetryPolicy
from .sender import Sender
from .wake import Wake
from .wal import WriteAheadLog
from .worker import Worker

if TYPE_CHECKING:
    from ..backends import Backend
    from .spool import Spool

__all__ = ["BACKPRESSURE_POLICIES", "Backpressure", "Dispatcher"]

log = logging.getLogger("convsdk.dispatch")


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
        name: str | None = None,
    ) -> None:
        self.backpressure: Backpressure = check_policy(backpressure, spool, durable)
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
        self.name = name or type(backend).__name__
        """How logs name the backend (the fan-out gives its destination's name)."""
        self._limit = max_queue_size
        self._wake_at = batch_size - 1
        self._closed = False
        self._init_state()
        self._pid = self._owner_pid = _getpid()
        lifecycle.register(self)
        # The worker starts with the first event (or a flush/close with spooled events
        # waiting): a tracker that records nothing runs no thread.

    def _init_state(self) -> None:
        """Everything a process owns alone: queue, locks, thread, counters."""
        queue: deque[Event | Control] = deque()
        self._queue = queue
        self._wake = Wake()
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
        self._sender = sender = Sender(
            self.backend, self.retry, keeper, counters, warnings, self.name
        )
        self._overflow = overflow = Overflow(
            queue, self._wake, self.backpressure, keeper, wal, warnings, self.max_queue_size
        )
        self._worker = Worker(
            queue,
            self._wake,
            sender,
            wal,
            overflow,
            batch_size=self.batch_size,
            flush_interval=self.flush_interval,
            limit=self._limit,
            wal_max_age=self.wal_max_age,
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
        if self._closed:  # closed meanwhile (by another thread, or a signal handler)
            return self._overflow.late(event)
        return True

    @property
    def worker_alive(self) -> bool:
        """Whether this dispatcher's background thread is running in this process."""
        thread = self._thread
        return thread is not None and self._pid == _getpid() and thread.is_alive()

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
        if self._closed:
            return self._overflow.late(event)
        return True

    def _put_durable(self, event: Event, wal: WriteAheadLog) -> bool:
        line = serialise(event)
        # A close needs the log's lock: a signal on this thread meanwhile waits for it.
        defer_signals(True)
        try:
            with wal.lock:
                if self._closed:
                    return self._overflow.closed(event)
                kept, wake = wal.enqueue(
                    event, line, self._limit, self.batch_size, self._overflow.full
                )
        finally:
            defer_signals(False)
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
            closing = self._closed
            self._closed = True
        if closing:
            return self._await_close(deadline)
        if self._pid != _getpid():
            self._reset_after_fork()
        self._slow = True
        self._sender.deadline = deadline
        self._sender.interrupt.set()
        if self._wal is not None:
            with self._wal.lock:
                self._wal.rotate()
        thread = self._thread
        ok = self._worker.stop(thread, deadline, self.flush)
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

    def _await_close(self, deadline: float) -> bool:
        """close() called again, maybe while the first one runs (in another thread, or
        interrupted by a signal handler that closes the trackers before the process
        ends): have the worker deliver what is queued and stop, and wait for it until
        ``deadline``. True when it did and nothing is left in memory."""
        thread = self._thread
        if thread is None or self._pid != _getpid() or self._sender.abandoned:
            return not self._queue
        if thread.is_alive():
            self._worker.stopping = True
            self._wake.set()
            thread.join(max(0.0, deadline - _monotonic()))
        return not thread.is_alive() and not self._queue

    def _spool_waiting(self) -> bool:
        """Whether the spool directory holds segments to replay (a directory scan)."""
        return self.spool is not None and self._keeper.pending and self.spool.rescan()

    def stats(self) -> dict[str, int]:
        """Counters since start (or since fork, in a forked child).

        ``enqueued`` events put in the queue; ``delivered`` accepted by the backend
        (replayed ones included); ``retried`` write attempts repeated; ``spooled`` written
        to the spool; ``replayed`` delivered from the spool; ``dead_lettered`` refused for
        good, or spool lines that do not validate, set aside; ``dropped`` lost (queue full
        with a drop policy, no spool, spool over its limit); ``erased`` left out, being
        of people erased since (:mod:`.erasures`); ``queued`` waiting in memory;
        ``spool_bytes`` disk used by the spool; ``corrupt`` unreadable spool lines skipped.
        """
        return self._counters.snapshot(list(self._queue), len(self._worker.batch), self.spool)

    # -- fork -----------------------------------------------------------------------

    def _ensure_worker(self) -> None:
        """Start the worker in this process if it is not running (after a fork)."""
        # The lock may have been held at a fork that ran no hook: then go on without it.
        lock = lifecycle.start_lock()
        locked = lock.acquire(timeout=1.0)
        try:
            if self._pid != _getpid():
                self._reset_after_fork()
            thread = self._thread
            if (thread is None or not thread.is_alive()) and not self._closed:
                self._thread = self._worker.start() or thread
        finally:
            if locked:
                lock.release()

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

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._closed

    def forked(self) -> None:
        """at-fork hook (in the child): a clean slate; the next put (or flush) starts
        the worker."""
        self._reset_after_fork(keep_queue=False)

    def __repr__(self) -> str:
        return f"<Dispatcher backend={self.name} queued={len(self._queue)}>"
