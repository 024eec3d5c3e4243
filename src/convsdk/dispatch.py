"""Getting events from the request thread to the backend without losing them.

:meth:`Dispatcher.put` appends to a bounded in-memory queue (a ``deque``: no lock on the
common path) and wakes the worker only when a batch is ready. One daemon worker thread
drains the queue in batches of ``batch_size`` or every ``flush_interval`` seconds and
calls ``Backend.write``.

When the backend fails, a batch is retried with exponential backoff and full jitter,
bounded in attempts (``max_retries``) and time (``retry_timeout``); a ``retry_after`` the
backend asks for is honoured up to ``retry_max_delay``. A batch that still fails goes to
the disk spool (:mod:`convsdk.spool`), the dispatcher turns *degraded* (later batches are
spooled straight away) and probes the backend again after a growing back-off; once the
backend answers, the spool is replayed oldest first. A batch the backend refuses for
good (``BackendError(retryable=False)``) is split in halves, again and again, so that
the events the backend takes are delivered and only those it refuses alone are
dead-lettered, with the error (one bad event costs about ``2 log2(batch_size)`` writes).

Backpressure, when the queue is full: ``"spool"`` (write the event to the spool),
``"drop_newest"`` or ``"drop_oldest"``; every event is counted in :meth:`Dispatcher.stats`.

With ``durable=True`` every event is also appended, with one unbuffered ``os.write``, to
the spool's write-ahead segment before ``put`` returns, so a killed process loses nothing
``put`` accepted. The queue holds events in write-ahead order; a segment is retired
(deleted) once the worker has handled every event before its rotation mark, and replayed
by the next process otherwise. When the append fails (a full disk), appends pause for a
growing back-off and events wait in memory only; every event stays delivered, on disk,
or counted in ``dropped``, and a full disk costs no file per event. Delivery is
at-least-once: after a crash, or a ``close`` that gave up on a hung backend, some events
may be sent twice (sinks dedupe by ``event_id``).

Every wait has a timeout, so ``flush`` and ``close`` return whatever the backend does.
The dispatcher restarts itself in a forked child (``os.register_at_fork`` plus a process
id check), starting with an empty queue: what the parent had queued is the parent's.
"""

from __future__ import annotations

import atexit
import errno
import logging
import math
import os
import random
import threading
import time
import weakref
from collections import deque
from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal

from ._json import dumps
from .errors import BackendError
from .event import Event
from .spool import SpoolWriteError

if TYPE_CHECKING:
    from .backends import Backend
    from .spool import Claim, Segment, Spool

__all__ = ["BACKPRESSURE_POLICIES", "Backpressure", "Dispatcher"]

log = logging.getLogger("convsdk.dispatch")

Backpressure = Literal["spool", "drop_newest", "drop_oldest"]
BACKPRESSURE_POLICIES: tuple[str, ...] = ("spool", "drop_newest", "drop_oldest")

_getpid = os.getpid
_monotonic = time.monotonic

# Outcomes of one delivery.
_OK, _FAILED, _FINAL, _ABANDONED = range(4)

# How often the worker looks for segments other processes left behind.
_SCAN_INTERVAL = 5.0
# At most one warning of a kind this often while degraded.
_WARN_INTERVAL = 60.0
# After a failed write-ahead append (a full disk), appends pause for a back-off growing
# from the first to the last value: on a full disk every track() would otherwise try the
# disk again, and a failing new segment cost a file and a descriptor per event.
_WAL_RETRY_FIRST = 0.1
_WAL_RETRY_MAX = 5.0


class _Control:
    """A queue item that is not an event; the worker runs it in queue order."""

    __slots__ = ()


class _Marker(_Control):
    """Put in the queue by ``flush``; the worker sets it once everything before it is handled."""

    __slots__ = ("deadline", "done", "losses", "ok")

    def __init__(self, deadline: float, losses: int) -> None:
        self.done = threading.Event()
        self.ok = True
        self.deadline = deadline
        self.losses = losses


class _Rotate(_Control):
    """Follows the last event of a write-ahead segment: past it, the segment can go."""

    __slots__ = ("segment",)

    def __init__(self, segment: Segment) -> None:
        self.segment = segment


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
        if backpressure is None:
            backpressure = "spool" if spool is not None else "drop_newest"
        if backpressure not in BACKPRESSURE_POLICIES:
            raise ValueError(
                f"backpressure must be one of {', '.join(BACKPRESSURE_POLICIES)}, "
                f"got {backpressure!r}"
            )
        if backpressure == "spool" and spool is None:
            raise ValueError("backpressure='spool' needs a spool directory")
        if durable and spool is None:
            raise ValueError("durable=True needs a spool directory")
        self.backend = backend
        self.batch_size = batch_size
        self.flush_interval = flush_interval
        self.max_queue_size = max_queue_size
        self.max_retries = max_retries
        self.retry_max_delay = retry_max_delay
        self.retry_timeout = retry_timeout
        self.retry_base_delay = retry_base_delay
        self.spool = spool
        self.durable = durable
        self.backpressure: Backpressure = backpressure
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
        self._queue: deque[Event | _Control] = deque()
        self._wake = threading.Event()
        # Set by close(): cuts a retry wait short so the worker can check its deadline.
        self._interrupt = threading.Event()
        self._lock = threading.Lock()  # counters and lifecycle
        self._take_lock = threading.Lock()  # hand-over of events between worker and close()
        self._wal_lock = threading.Lock()  # write-ahead append + enqueue, in one order
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._abandoned = False
        self._deadline: float | None = None
        # Anything but the lock-free append goes through put's slow path.
        self._slow = self.durable or self._closed
        self._batch: list[Event] = []  # the live batch the worker is filling or writing
        self._wal: Segment | None = None
        # Write-ahead segments opened and not yet retired, oldest first.
        self._wal_live: list[Segment] = []
        self._wal_backoff = 0.0  # not 0: appends failed, none tried before _wal_retry_at
        self._wal_retry_at = 0.0
        # Ids of queued events the write-ahead log does not hold (its append failed or
        # was skipped): if they cannot be delivered or spooled, they are lost, and counted.
        self._unlogged: set[str] = set()
        self._healthy = True
        self._probe_at = 0.0
        self._probe_delay = min(1.0, self.retry_max_delay)
        self._pending = self.spool is not None  # segments may wait on disk
        self._next_scan = 0.0
        self._warned: dict[str, float] = {}  # message -> when it was last logged
        self._backend_closed = False
        self._taken = 0  # events the worker took from the queue
        self._removed = 0  # events other threads took from it (drop_oldest, close)
        self.delivered = 0
        self.retried = 0
        self.spooled = 0
        self.replayed = 0
        self.dead_lettered = 0
        self.dropped = 0

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
            return self._put_closed(event)
        if self.durable:
            return self._put_durable(event)
        queue = self._queue
        if len(queue) >= self._limit:
            return self._overflow(event, None)
        queue.append(event)
        if len(queue) >= self.batch_size:
            self._wake.set()
        return True

    def _put_durable(self, event: Event) -> bool:
        line = _serialise(event)
        wake = False
        with self._wal_lock:
            if self._closed:
                return self._put_closed(event)
            logged = False
            if line is not None and (not self._wal_backoff or _monotonic() >= self._wal_retry_at):
                try:
                    segment = self._wal
                    if segment is None:
                        assert self.spool is not None
                        segment = self._wal = self.spool.open_wal()
                        with self._lock:
                            self._wal_live.append(segment)
                    segment.write(line)
                    logged = True
                except OSError as exc:
                    self._wal_failed(exc)
                else:
                    if self._wal_backoff:
                        self._wal_backoff = 0.0
                        log.info("the write-ahead log is writable again")
            queue = self._queue
            if len(queue) >= self._limit:
                # Under the lock: the event must be stored before its segment can retire.
                kept = self._overflow(event, line, logged)
            else:
                if not logged:  # before the worker can take (and forget) it
                    self._unlogged.add(event.event_id)
                queue.append(event)
                kept = True
                wake = len(queue) >= self.batch_size
            if self._wal is not None and self._wal.size >= self._segment_bytes():
                self._rotate_locked()
        if wake and not self._wake.is_set():
            self._wake.set()
        return kept

    def _wal_failed(self, exc: OSError) -> None:
        """A write-ahead append failed (under ``_wal_lock``): pause appends for a while.

        The current segment stays if it holds events and ends with a whole line (the
        torn part is cut off); an empty one is deleted at once, so a full disk leaves
        neither empty files nor open descriptors behind.
        """
        segment = self._wal
        if segment is not None and segment.size == 0:
            self._wal = None
            with self._lock:
                if segment in self._wal_live:
                    self._wal_live.remove(segment)
            try:
                assert self.spool is not None
                self.spool.retire(segment)
            except OSError:
                pass
        elif segment is not None and segment.broken:
            self._rotate_locked()
        delay = self._wal_backoff = min(
            max(2 * self._wal_backoff, _WAL_RETRY_FIRST), _WAL_RETRY_MAX
        )
        self._wal_retry_at = _monotonic() + delay
        assert self.spool is not None
        self._warn(
            "cannot append to the write-ahead log in %s (%s): new events are kept in "
            "memory only (not crash-safe) until it works again",
            self.spool.directory,
            _reason(exc),
        )

    def _segment_bytes(self) -> int:
        return self.spool.segment_bytes if self.spool is not None else 0

    def _rotate_locked(self) -> None:
        segment = self._wal
        if segment is not None:
            self._wal = None
            self._queue.append(_Rotate(segment))

    def _overflow(self, event: Event, line: bytes | None, logged: bool = False) -> bool:
        """The queue is full: apply the backpressure policy (``logged``: the event is in
        the write-ahead log)."""
        queue = self._queue
        if not self._wake.is_set():
            self._wake.set()
        if self.backpressure == "spool":
            return self._spool_lines([line if line is not None else _serialise(event)], 1, [logged])
        if self.backpressure == "drop_oldest":
            # Flush markers and rotations keep their place: the oldest event behind them
            # is the one dropped.
            held: list[_Control] = []
            oldest: Event | _Control | None = None
            while queue:
                try:
                    oldest = queue.popleft()
                except IndexError:  # the worker took the rest meanwhile
                    oldest = None
                    break
                if not isinstance(oldest, _Control):
                    break
                held.append(oldest)
                oldest = None
            queue.extendleft(reversed(held))
            if not logged and self.durable:
                self._unlogged.add(event.event_id)
            queue.append(event)
            if isinstance(oldest, Event):
                self._unlogged.discard(oldest.event_id)
                with self._lock:
                    self._removed += 1
                    self.dropped += 1
                self._warn("queue full (%d events): dropping the oldest", self.max_queue_size)
            return True
        with self._lock:
            self.dropped += 1
        self._warn("queue full (%d events): dropping new events", self.max_queue_size)
        return False

    def _put_closed(self, event: Event) -> bool:
        if self.spool is not None:
            kept = self._spool_lines([_serialise(event)], 1)
            self.spool.seal()  # no worker any more: leave it to the next tracker at once
            return kept
        with self._lock:
            self.dropped += 1
        self._warn("event tracked after close(): dropped")
        return False

    def _spool_lines(
        self, lines: Sequence[bytes | None], count: int, logged: Sequence[bool] | None = None
    ) -> bool:
        """Append serialised events to the spool; count them spooled, or dropped.

        ``logged[i]``: event ``i`` is in a live write-ahead segment, so when the spool
        refuses it, it is not lost: that segment is kept for replay instead of deleted.
        Exact on a partial write: only what reached the disk whole counts as spooled.
        """
        assert self.spool is not None
        flags = logged if logged is not None else [False] * len(lines)
        good = [(line, flag) for line, flag in zip(lines, flags, strict=True) if line is not None]
        stored = 0
        error: OSError | None = None
        try:
            stored = self.spool.append([line for line, _ in good])
        except SpoolWriteError as exc:
            stored, error = exc.stored, exc
        except OSError as exc:
            error = exc
        in_wal = sum(1 for _, flag in good[stored:] if flag) if self.durable else 0
        with self._lock:
            if not self._wal_live:
                in_wal = 0  # defensive: a logged event's segment is live until it is handled
            lost = count - stored - in_wal
            self.spooled += stored
            if in_wal:
                # Still in its write-ahead segment, one of those not yet retired: keep
                # them all for replay (at-least-once) rather than lose it.
                for segment in self._wal_live:
                    segment.keep = True
            self.dropped += lost
        if stored < len(good):
            fate = "dropped" if lost else "kept in the write-ahead log"
            if error is not None:
                self._warn(
                    "cannot write to the spool %s (%s): events %s",
                    self.spool.directory,
                    _reason(error),
                    fate,
                )
            else:
                self._warn("spool over its limit (%d bytes): events %s", self.spool.max_bytes, fate)
        elif lost:
            self._warn("events that cannot be serialised: dropped")
        return lost == 0

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
        marker = _Marker(_monotonic() + timeout, self._losses())
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
        if timeout is None:
            timeout = self.shutdown_timeout
        deadline = _monotonic() + timeout
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
        self._deadline = deadline
        self._interrupt.set()
        if self.durable:
            with self._wal_lock:
                self._rotate_locked()
        thread = self._thread
        ok = True
        if thread is not None and thread.is_alive():
            ok = self.flush(max(0.0, deadline - _monotonic()))
            self._stopping = True
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
        if self.spool is not None:
            try:
                self.spool.close()
            except OSError as exc:
                log.warning("closing the spool failed: %s", exc)
        if thread is None and self._owner_pid == _getpid():
            # No worker ever ran (a hung one keeps the backend open). In a forked child
            # that never used it, the backend's connections are the parent's: leave them.
            self._close_backend()
        return ok

    def _spool_waiting(self) -> bool:
        """Whether the spool directory holds segments to replay (a directory scan)."""
        return self.spool is not None and self._pending and self.spool.rescan()

    def _close_backend(self) -> None:
        if self._backend_closed:
            return
        self._backend_closed = True
        try:
            self.backend.close()
        except Exception:
            log.exception("closing the backend failed")

    def _abandon(self) -> int:
        """The worker did not finish in time: take back what it has not delivered.

        Returns how many events were taken back.
        """
        with self._take_lock:
            self._abandoned = True
            in_flight = list(self._batch)
            self._batch = []
            leftovers: list[Event] = []
            while True:
                try:
                    item = self._queue.popleft()
                except IndexError:
                    break
                if isinstance(item, _Marker):
                    item.ok = False
                    item.done.set()
                elif isinstance(item, Event):
                    leftovers.append(item)
        self._interrupt.set()
        with self._lock:
            self._removed += len(leftovers)
        leftovers = in_flight + leftovers
        if not leftovers:
            return 0
        if self.durable:
            # Those in a write-ahead segment are released with it, for replay; those
            # its append missed (a full disk) are spooled, or counted lost.
            unlogged = [e for e in leftovers if e.event_id in self._unlogged]
            self._unlogged.clear()
            if unlogged:
                self._spool_lines([_serialise(e) for e in unlogged], len(unlogged))
            log.warning(
                "convsdk closed before delivering %d events; the next start replays them",
                len(leftovers),
            )
        elif self.spool is not None:
            self._spool_lines([_serialise(e) for e in leftovers], len(leftovers))
            log.warning(
                "convsdk closed before delivering %d events; they wait in %s",
                len(leftovers),
                self.spool.directory,
            )
        else:
            with self._lock:
                self.dropped += len(leftovers)
            log.warning(
                "convsdk closed with %d undelivered events (no spool_dir: lost)", len(leftovers)
            )
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
        queued = sum(1 for item in items if not isinstance(item, _Control)) + len(self._batch)
        spool = self.spool
        return {
            "enqueued": self._taken + self._removed + queued - len(self._batch),
            "delivered": self.delivered,
            "retried": self.retried,
            "spooled": self.spooled,
            "replayed": self.replayed,
            "dead_lettered": self.dead_lettered + (spool.quarantined if spool is not None else 0),
            "dropped": self.dropped + (spool.evicted if spool is not None else 0),
            "queued": queued,
            "spool_bytes": spool.used_bytes if spool is not None else 0,
            "corrupt": spool.corrupt if spool is not None else 0,
        }

    def _losses(self) -> int:
        spool = self.spool
        if spool is None:
            return self.dropped + self.dead_lettered
        return self.dropped + self.dead_lettered + spool.evicted + spool.quarantined

    def _warn(self, message: str, *args: object, level: int = logging.WARNING) -> None:
        """Log at most once a minute per kind of message (the anchors flood, or stay silent)."""
        now = _monotonic()
        if now - self._warned.get(message, -math.inf) >= _WARN_INTERVAL:
            self._warned[message] = now
            log.log(level, message, *args)

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

    # -- worker thread --------------------------------------------------------------

    def _start(self) -> None:
        thread = threading.Thread(target=self._run, name="convsdk-dispatch", daemon=True)
        try:
            thread.start()
        except RuntimeError as exc:  # interpreter shutting down
            log.warning("cannot start the convsdk worker: %s", exc)
            return
        self._thread = thread

    def _run(self) -> None:
        while not self._abandoned:
            try:
                self._wake.wait(self._next_wait())
                self._wake.clear()
                self._drain()
                if self._abandoned:
                    return
                self._upkeep()
                if self._stopping and not self._queue:
                    self._close_backend()  # from the thread that owns it, as promised
                    return
            except BaseException:  # this thread is ours: it must outlive any error
                log.exception("convsdk dispatcher error")
                self._pending = False
                self._interrupt.wait(min(1.0, self.flush_interval))

    def _next_wait(self) -> float:
        if self._stopping or len(self._queue) >= self.batch_size:
            return 0.0
        now = _monotonic()
        wait = self.flush_interval
        if self._pending:
            wait = 0.0 if self._healthy else self._probe_at - now
        if self.spool is not None:
            wait = min(wait, self._next_scan - now)
        wal = self._wal
        if wal is not None:
            wait = min(wait, wal.created + self.wal_max_age - now)
        return max(0.0, min(wait, self.flush_interval))

    def _drain(self) -> None:
        """Deliver what is queued now, in batches; run markers in order."""
        queue = self._queue
        take = self._take_lock
        budget = max(len(queue), self.batch_size)
        batch_size = self.batch_size
        while budget > 0:
            # Take up to a batch under one lock acquisition: the request threads
            # append without the lock, and a lock per event slowed them down.
            control: _Control | None = None
            taken = 0
            with take:
                if self._abandoned:
                    return
                batch = self._batch
                room = min(budget, max(1, batch_size - len(batch)))
                while taken < room:
                    try:
                        item = queue.popleft()
                    except IndexError:
                        break
                    taken += 1
                    if isinstance(item, _Control):
                        control = item
                        break
                    batch.append(item)
                self._taken += taken - (control is not None)
            if taken == 0:
                break
            budget -= taken
            if control is not None:
                self._send_batch()
                if isinstance(control, _Marker):
                    self._complete(control)
                elif isinstance(control, _Rotate):
                    self._retire(control.segment)
            elif len(self._batch) >= batch_size:
                self._send_batch()
        self._send_batch()

    def _send_batch(self) -> None:
        batch = self._batch
        if not batch:
            return
        if self.spool is not None and not self._healthy and _monotonic() < self._probe_at:
            outcome, error = _FAILED, None  # degraded: straight to the spool until the probe
        else:
            outcome, error = self._deliver(batch)
        with self._take_lock:
            if self._abandoned:
                if outcome == _OK:
                    self.delivered += len(batch)
                return  # close() took the batch over
            self._batch = []
        if outcome == _OK:
            self.delivered += len(batch)
            self._recovered()
        elif outcome == _FINAL:
            assert error is not None
            self._refused(batch, error, replaying=False)
        else:
            self._store(batch)
            if error is not None:
                self._degrade(error)
        unlogged = self._unlogged
        if unlogged:
            for event in batch:
                unlogged.discard(event.event_id)

    def _deliver(self, events: list[Event]) -> tuple[int, Exception | None]:
        """Write with retries; the outcome and the last error."""
        retries = self.max_retries if (self._healthy or self.spool is None) else 0
        started = _monotonic()
        attempt = 0
        while True:
            try:
                self.backend.write(events)
            except Exception as exc:
                error = exc
            except BaseException as exc:
                # A CancelledError or a gevent Timeout out of an adapter's write is a
                # failed write on this thread of ours, not a reason for it to die.
                error = BackendError(
                    f"write raised {type(exc).__name__}: {exc}",
                    backend=type(self.backend).__name__,
                )
            else:
                return _OK, None
            if self._abandoned:
                return _ABANDONED, error
            if getattr(error, "retryable", True) is False:
                return _FINAL, error
            if attempt >= retries:
                return _FAILED, error
            delay = self._backoff(attempt, error)
            if _monotonic() - started + delay > self.retry_timeout or not self._pause(delay):
                return _FAILED, error
            attempt += 1
            self.retried += 1
            log.debug("retrying a batch of %d events (attempt %d): %s", len(events), attempt, error)

    def _backoff(self, attempt: int, error: Exception) -> float:
        cap = self.retry_max_delay
        # Full jitter: spread the retries of many processes hitting one recovering backend.
        # (The exponent is capped: 2.0 ** 1024 overflows, and 2 ** 64 is plenty.)
        delay = random.uniform(0.0, min(cap, self.retry_base_delay * 2.0 ** min(attempt, 64)))
        after = getattr(error, "retry_after", None)
        if isinstance(after, int | float) and not isinstance(after, bool) and math.isfinite(after):
            delay = max(delay, min(float(after), cap))
        return delay

    def _pause(self, delay: float) -> bool:
        """Wait ``delay`` seconds; False when close()'s deadline would pass first."""
        end = _monotonic() + delay
        while True:
            deadline = self._deadline
            if self._abandoned or (deadline is not None and end > deadline):
                return False
            remaining = end - _monotonic()
            if remaining <= 0:
                return True
            if self._interrupt.wait(remaining):
                self._interrupt.clear()

    def _degrade(self, error: Exception) -> None:
        now = _monotonic()
        if self._healthy:
            self._healthy = False
            self._probe_delay = min(1.0, self.retry_max_delay)
        delay = self._probe_delay
        self._probe_at = now + random.uniform(delay / 2, delay)
        self._probe_delay = min(self._probe_delay * 2, self.retry_max_delay)
        if self.spool is not None:
            self._warn(
                "backend %s failing (%s): events go to the spool %s (%d so far), "
                "delivery resumes when it recovers",
                type(self.backend).__name__,
                error,
                self.spool.directory,
                self.spooled,
            )
        else:
            self._warn(
                "backend %s failing (%s): %d events dropped so far",
                type(self.backend).__name__,
                error,
                self.dropped,
            )

    def _recovered(self) -> None:
        if not self._healthy:
            self._healthy = True
            self._pending = self.spool is not None
            log.info("backend %s recovered; replaying the spool", type(self.backend).__name__)

    def _store(self, events: Sequence[Event]) -> None:
        """Keep a batch that could not be delivered: in the spool, or count it lost."""
        if self.spool is not None:
            unlogged = self._unlogged
            logged = [e.event_id not in unlogged for e in events] if self.durable else None
            self._spool_lines([_serialise(e) for e in events], len(events), logged)
            self._pending = True
            return
        with self._lock:
            self.dropped += len(events)
        self._warn(
            "the backend failed and there is no spool_dir: %d events dropped so far",
            self.dropped,
            level=logging.ERROR,
        )

    def _refused(self, events: list[Event], error: Exception, *, replaying: bool) -> bool:
        """A batch the backend refused for good: find the events it refuses.

        Halves are written on their own: what the backend takes is delivered, what it
        refuses is split again down to single events, which are dead-lettered; a half
        that fails for a passing reason goes to the spool like any failed batch. True
        when every event was delivered, dead-lettered or spooled.
        """
        if len(events) == 1 or self._abandoned:
            return self._dead_letter(events, error, stays=replaying)
        mid = len(events) // 2
        handled = True
        for part in (events[:mid], events[mid:]):
            outcome, part_error = self._deliver(part)
            if outcome == _OK:
                self.delivered += len(part)
                if replaying:
                    self.replayed += len(part)
            elif outcome == _FINAL and part_error is not None:
                handled = self._refused(part, part_error, replaying=replaying) and handled
            else:
                self._store(part)
        return handled

    def _dead_letter(
        self, events: Sequence[Event], error: Exception, *, stays: bool = False
    ) -> bool:
        """Keep a batch the backend refused for good in ``dead-letter/``; True if kept.

        With ``stays`` the events are still in a claimed segment, so a failed write
        loses nothing: the segment keeps them.
        """
        if self.spool is not None:
            try:
                self.spool.dead_letter(events, error)
            except OSError as exc:
                stored = exc.stored if isinstance(exc, SpoolWriteError) else 0
                self.dead_lettered += stored
                self._warn(
                    "cannot write dead letters to %s (%s): events %s",
                    self.spool.dead_letter_dir,
                    _reason(exc),
                    "kept in the spool" if stays else "lost",
                    level=logging.ERROR,
                )
                if stays:
                    return False
                with self._lock:
                    self.dropped += len(events) - stored
                return False
            else:
                self.dead_lettered += len(events)
                self._warn(
                    "backend refused events for good (%s); %d so far kept in %s",
                    error,
                    self.dead_lettered,
                    self.spool.dead_letter_dir,
                    level=logging.ERROR,
                )
                return True
        with self._lock:
            self.dropped += len(events)
        if self.spool is None:
            self._warn(
                "backend refused events for good (%s); dropped (no spool_dir)",
                error,
                level=logging.ERROR,
            )
        return False

    def _retire(self, segment: Segment) -> None:
        assert self.spool is not None
        with self._lock:
            keep = segment.keep
            if segment in self._wal_live:
                self._wal_live.remove(segment)
        try:
            self.spool.sync()  # what replaced the segment is on disk before it goes
            self.spool.retire(segment, keep=keep)
        except OSError as exc:
            log.warning("cannot retire a write-ahead segment: %s", exc)
        if keep:
            self._pending = True

    def _complete(self, marker: _Marker) -> None:
        ok = True
        if self.spool is not None and _monotonic() < marker.deadline:
            ok = self._replay_all(marker.deadline)
        marker.ok = ok and self._losses() == marker.losses
        marker.done.set()

    def _upkeep(self) -> None:
        now = _monotonic()
        if self.durable:
            with self._wal_lock:
                wal = self._wal
                if wal is not None and now - wal.created >= self.wal_max_age:
                    self._rotate_locked()
        spool = self.spool
        if spool is None:
            return
        spool.sync()
        if now >= self._next_scan:
            self._next_scan = now + _SCAN_INTERVAL
            if spool.rescan():
                self._pending = True
        if self._stopping or (not self._healthy and now < self._probe_at):
            return
        # Our overflow segment becomes replayable once the queue has room again.
        if len(self._queue) < self._limit // 2 and spool.seal():
            self._pending = True
        if not self._pending:
            return
        claim = spool.claim_next()
        if claim is None:
            self._pending = False
        else:
            self._replay(claim, None)

    # -- replay -----------------------------------------------------------------------

    def _replay_all(self, until: float) -> bool:
        """Replay every claimable segment (ours sealed first) until ``until``."""
        assert self.spool is not None
        self.spool.seal()
        while _monotonic() < until:
            claim = self.spool.claim_next()
            if claim is None:
                self._pending = False
                return True
            if not self._replay(claim, until):
                return False
        return False

    def _replay(self, claim: Claim, until: float | None) -> bool:
        """Deliver a claimed segment; True when all of it was handled and it is gone."""
        sent = 0
        try:
            for batch in claim.batches(self.batch_size):
                events = [event for _, event in batch]
                if self._abandoned or (until is not None and _monotonic() > until):
                    outcome, error = _ABANDONED, None
                else:
                    outcome, error = self._deliver(events)
                if outcome == _OK:
                    sent += len(events)
                    self.delivered += len(events)
                    self.replayed += len(events)
                    self._recovered()
                    continue
                if (
                    outcome == _FINAL
                    and error is not None
                    and self._refused(events, error, replaying=True)
                ):
                    continue
                if outcome == _FAILED and error is not None:
                    self._degrade(error)
                if self._abandoned or sent == 0:
                    claim.release()  # nothing sent yet: leave the file as it is
                else:
                    claim.keep([raw for raw, _ in batch])
                self._report(claim)
                return False
            self._report(claim)
            claim.finish()
            return True
        except Exception:
            claim.release()
            raise

    def _report(self, claim: Claim) -> None:
        if claim.quarantined:
            assert self.spool is not None
            log.error(
                "spool segment %s: %d events do not validate; set aside in %s",
                claim.path.name,
                claim.quarantined,
                self.spool.dead_letter_dir,
            )
            claim.quarantined = 0
        if claim.corrupt or claim.torn:
            log.warning(
                "spool segment %s: skipped %d unreadable lines and %d torn last lines",
                claim.path.name,
                claim.corrupt,
                claim.torn,
            )

    def __repr__(self) -> str:
        return f"<Dispatcher backend={type(self.backend).__name__} queued={len(self._queue)}>"


def _reason(exc: OSError) -> str:
    """Why the disk refused, in words and with the errno: "disk full ([Errno 28] ...)"."""
    if exc.errno == errno.ENOSPC:
        return f"disk full: {exc}"
    if exc.errno == errno.EDQUOT:
        return f"disk quota exceeded: {exc}"
    if exc.errno in (errno.EMFILE, errno.ENFILE):
        return f"too many open files: {exc}"
    return str(exc)


def _serialise(event: Event) -> bytes | None:
    try:
        return dumps(event.to_dict()) + b"\n"
    except Exception:
        log.exception("cannot serialise event %s", event.name)
        return None


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
