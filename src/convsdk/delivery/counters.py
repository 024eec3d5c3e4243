"""The delivery counters behind ``Dispatcher.stats()``, and rate-limited warnings."""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from .controls import Control

if TYPE_CHECKING:
    from .spool import Spool

__all__ = ["Counters", "Warnings"]

# At most one warning of a kind this often.
_WARN_INTERVAL = 60.0


class Counters:
    """What happened to the events a dispatcher was given, since start (or fork).

    The worker thread alone updates ``delivered``, ``retried``, ``replayed``,
    ``dead_lettered``, ``erased`` and ``taken``; other threads too update ``spooled``,
    ``dropped`` and ``removed``, under :attr:`lock`.
    """

    __slots__ = (
        "dead_lettered",
        "delivered",
        "dropped",
        "erased",
        "lock",
        "removed",
        "replayed",
        "retried",
        "spooled",
        "taken",
    )

    def __init__(self, lock: threading.Lock) -> None:
        self.lock = lock
        self.taken = 0  # events the worker took from the queue
        self.removed = 0  # events other threads took from it (drop_oldest, close)
        self.delivered = 0
        self.retried = 0
        self.spooled = 0
        self.replayed = 0
        self.dead_lettered = 0
        self.dropped = 0
        self.erased = 0  # of people erased since: not delivered (see .erasures)

    def losses(self, spool: Spool | None) -> int:
        """Events lost or set aside so far, the spool's evictions and quarantine included."""
        if spool is None:
            return self.dropped + self.dead_lettered
        return self.dropped + self.dead_lettered + spool.evicted + spool.quarantined

    def snapshot(
        self, items: Sequence[object], in_batch: int, spool: Spool | None
    ) -> dict[str, int]:
        """The ``stats()`` dict: ``items`` are in the queue (events and controls),
        ``in_batch`` events in the worker's batch."""
        queued = sum(1 for item in items if not isinstance(item, Control)) + in_batch
        return {
            "enqueued": self.taken + self.removed + queued - in_batch,
            "delivered": self.delivered,
            "retried": self.retried,
            "spooled": self.spooled,
            "replayed": self.replayed,
            "dead_lettered": self.dead_lettered + (spool.quarantined if spool is not None else 0),
            "dropped": self.dropped + (spool.evicted if spool is not None else 0),
            "erased": self.erased,
            "queued": queued,
            "spool_bytes": spool.used_bytes if spool is not None else 0,
            "corrupt": spool.corrupt if spool is not None else 0,
        }


class Warnings:
    """Logs a message at most once a minute per kind (the anchors flood, or stay silent)."""

    def __init__(self, log: logging.Logger) -> None:
        self.log = log
        self._warned: dict[str, float] = {}  # message -> when it was last logged

    def warn(self, message: str, *args: object, level: int = logging.WARNING) -> None:
        """Log ``message % args`` unless the same message was logged within a minute."""
        now = time.monotonic()
        if now - self._warned.get(message, -math.inf) >= _WARN_INTERVAL:
            self._warned[message] = now
            self.log.log(level, message, *args)
