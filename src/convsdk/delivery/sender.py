"""Writing a batch to the backend: retries by the retry policy, the backend's health,
and a batch refused for good split in halves until the refused events are found.

A batch the backend refuses for good (``BackendError(retryable=False)``) is split in
halves, again and again, so that the events the backend takes are delivered and only
those it refuses alone are dead-lettered (one bad event costs about
``2 log2(batch_size)`` writes).
"""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING

from ..errors import BackendError
from ..event import Event
from .counters import Counters, Warnings
from .erasures import Erasures
from .health import BackendHealth
from .keeper import Keeper
from .retry import RetryPolicy

if TYPE_CHECKING:
    from ..backends import Backend

__all__ = ["ABANDONED", "FAILED", "FINAL", "OK", "Sender"]

log = logging.getLogger("convsdk.dispatch")

# Outcomes of one delivery.
OK, FAILED, FINAL, ABANDONED = range(4)


class Sender:
    """Delivers batches for the worker thread; ``close()`` may abandon it part way.

    :attr:`abandoned` (set by close when the worker is late) ends every wait and write
    loop; :attr:`deadline` bounds retry waits; :attr:`interrupt` cuts a wait short.
    """

    def __init__(
        self,
        backend: Backend,
        policy: RetryPolicy,
        keeper: Keeper,
        counters: Counters,
        warnings: Warnings,
        name: str | None = None,
    ) -> None:
        self.backend = backend
        self.name = name or type(backend).__name__
        """How logs name the backend: its destination's name (a URL without secrets)."""
        self.policy = policy
        self.keeper = keeper
        self.counters = counters
        self.warnings = warnings
        self.health = BackendHealth(policy.max_delay)
        spool = keeper.spool
        #: The spool's list of erased people, whose earlier events are not written.
        self.erasures = Erasures(spool.directory) if spool is not None else None
        self.abandoned = False
        self.deadline: float | None = None
        # Set by close(): cuts a retry wait short so the worker can check its deadline.
        self.interrupt = threading.Event()
        self.backend_closed = False

    def deliver(self, events: list[Event]) -> tuple[int, Exception | None]:
        """Write with retries; the outcome and the last error."""
        policy = self.policy
        degraded = not self.health.healthy and self.keeper.spool is not None
        retries = 0 if degraded else policy.max_retries
        started = time.monotonic()
        attempt = 0
        write = self.backend.write
        while True:
            try:
                write(events)
            except Exception as exc:
                error: Exception = exc
            except BaseException as exc:
                # A CancelledError or a gevent Timeout out of an adapter's write is a
                # failed write on this thread of ours, not a reason for it to die.
                error = BackendError(
                    f"write raised {type(exc).__name__}: {exc}",
                    backend=type(self.backend).__name__,
                )
            else:
                return OK, None
            if self.abandoned:
                return ABANDONED, error
            if not policy.retryable(error):
                return FINAL, error
            if attempt >= retries:
                return FAILED, error
            delay = policy.delay(attempt, error)
            if not policy.in_time(time.monotonic() - started, delay) or not self.pause(delay):
                return FAILED, error
            attempt += 1
            self.counters.retried += 1
            log.debug("retrying a batch of %d events (attempt %d): %s", len(events), attempt, error)

    def sift(self, events: list[Event]) -> tuple[list[Event], int]:
        """``events`` to write: those of people erased since they happened are left out
        (:mod:`.erasures`); how many were. The caller counts them once the batch is done."""
        erasures = self.erasures
        if erasures is None:
            return events, 0
        return erasures.sift(events)

    def pause(self, delay: float) -> bool:
        """Wait ``delay`` seconds; False when close()'s deadline would pass first."""
        end = time.monotonic() + delay
        while True:
            deadline = self.deadline
            if self.abandoned or (deadline is not None and end > deadline):
                return False
            remaining = end - time.monotonic()
            if remaining <= 0:
                return True
            if self.interrupt.wait(remaining):
                self.interrupt.clear()

    def refused(self, events: list[Event], error: Exception, *, replaying: bool) -> bool:
        """A batch the backend refused for good: find the events it refuses.

        Halves are written on their own: what the backend takes is delivered, what it
        refuses is split again down to single events, which are dead-lettered; a half
        that fails for a passing reason goes to the spool like any failed batch. True
        when every event was delivered, dead-lettered or spooled.
        """
        if len(events) == 1 or self.abandoned:
            return self.keeper.dead_letter(events, error, stays=replaying)
        mid = len(events) // 2
        handled = True
        for part in (events[:mid], events[mid:]):
            outcome, part_error = self.deliver(part)
            if outcome == OK:
                self.counters.delivered += len(part)
                if replaying:
                    self.counters.replayed += len(part)
            elif outcome == FINAL and part_error is not None:
                handled = self.refused(part, part_error, replaying=replaying) and handled
            else:
                self.keeper.store(part)
        return handled

    def degrade(self, error: Exception) -> None:
        """A batch failed its retries: the backend is down; say so (once a minute)."""
        self.health.failed()
        name = self.name
        spool = self.keeper.spool
        if spool is not None:
            self.warnings.warn(
                "backend %s failing (%s): events go to the spool %s (%d so far), "
                "delivery resumes when it recovers",
                name,
                error,
                spool.directory,
                self.counters.spooled,
            )
        else:
            self.warnings.warn(
                "backend %s failing (%s): %d events dropped so far",
                name,
                error,
                self.counters.dropped,
            )

    def recovered(self) -> None:
        """A write succeeded: when the backend was down, replay the spool now."""
        if self.health.succeeded():
            self.keeper.pending = self.keeper.spool is not None
            log.info("backend %s recovered; replaying the spool", self.name)

    def close_backend(self) -> None:
        """Close the backend once (errors are logged)."""
        if self.backend_closed:
            return
        self.backend_closed = True
        try:
            self.backend.close()
        except Exception:
            log.exception("closing the backend failed")
