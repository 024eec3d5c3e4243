"""Backend health: whether the backend answers, and when to probe it again while it
does not (a growing, jittered back-off; meanwhile batches go straight to the spool)."""

from __future__ import annotations

import random
import time

__all__ = ["BackendHealth"]


class BackendHealth:
    """Healthy until a batch fails for good; then *degraded* until a write succeeds.

    While degraded, :meth:`waiting` is true until :attr:`probe_at`, after which one
    batch probes the backend; each failure doubles the probe delay up to ``max_delay``.
    """

    __slots__ = ("healthy", "max_delay", "probe_at", "probe_delay")

    def __init__(self, max_delay: float) -> None:
        self.max_delay = max_delay
        self.healthy = True
        self.probe_at = 0.0
        self.probe_delay = min(1.0, max_delay)

    def waiting(self, now: float) -> bool:
        """Degraded and not yet time to probe."""
        return not self.healthy and now < self.probe_at

    def failed(self) -> None:
        """A batch failed: turn (or stay) degraded and schedule the next probe."""
        if self.healthy:
            self.healthy = False
            self.probe_delay = min(1.0, self.max_delay)
        delay = self.probe_delay
        self.probe_at = time.monotonic() + random.uniform(delay / 2, delay)
        self.probe_delay = min(self.probe_delay * 2, self.max_delay)

    def succeeded(self) -> bool:
        """A write succeeded; True when that ends a degraded spell."""
        if self.healthy:
            return False
        self.healthy = True
        return True
