"""Getting events from the request thread to the backend without losing them.

- :mod:`.dispatcher` the queue, its worker thread, ``put``/``flush``/``close``, fork safety
- :mod:`.worker` the worker thread's loop: batches, markers, upkeep
- :mod:`.sender` one batch to the backend: retries, health, halving a refused batch
- :mod:`.retry` the retry policy (:class:`RetryPolicy`)
- :mod:`.health` backend health: probing a backend that is down
- :mod:`.replay` replaying the spool
- :mod:`.erasures` the spool's list of erased people, whose earlier events are left out
- :mod:`.keeper` undeliverable events: to the spool, dead letters, or counted lost
- :mod:`.overflow` a full queue (backpressure), events after close, leftovers
- :mod:`.wal` the write-ahead log of durable mode, and its full-disk back-off
- :mod:`.counters` the counters behind ``stats()``, and rate-limited warnings
- :mod:`.controls` flush markers and write-ahead rotations in the queue
- :mod:`.spool` the spool directory (:class:`Spool`)
- :mod:`.directory` listing, measuring and claiming segments
- :mod:`.claim` reading a claimed segment back (replay reading)
- :mod:`.deadletter` the ``dead-letter/`` files
- :mod:`.eviction` what the spool's size bound deletes
- :mod:`.files` segment files: names, locks, :class:`Segment`, :func:`fsync_dir`
"""

from __future__ import annotations

from .claim import Claim, parse_line
from .counters import Counters
from .dispatcher import BACKPRESSURE_POLICIES, Backpressure, Dispatcher
from .files import Segment, SpoolWriteError, fsync_dir
from .retry import RetryPolicy, retryable
from .spool import DEFAULT_MAX_BYTES, SEGMENT_BYTES, Spool

__all__ = [
    "BACKPRESSURE_POLICIES",
    "DEFAULT_MAX_BYTES",
    "SEGMENT_BYTES",
    "Backpressure",
    "Claim",
    "Counters",
    "Dispatcher",
    "RetryPolicy",
    "Segment",
    "Spool",
    "SpoolWriteError",
    "fsync_dir",
    "parse_line",
    "retryable",
]
