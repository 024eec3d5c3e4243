"""The stand-ins of a tracker that records nothing (``enabled=False``, or built while a
test captures every tracker's events): a backend that stores nothing and a dispatcher
with no thread, no file and no write."""

from __future__ import annotations

from typing import cast

from ..event import Event
from ..fanout.fanout import COUNTERS, DeliveryStats


class NoBackend:
    """The backend of a tracker that records nothing: it stores nothing."""

    def write(self, events: object) -> None:
        """Store nothing."""

    def close(self) -> None:
        """Nothing to close."""


class Off:
    """The dispatcher of a tracker that records nothing (``enabled=False``, or built
    while :func:`~convsdk.tracker.redirect_events` captures): no thread, no file, no write."""

    def put(self, event: Event) -> bool:
        """Keep nothing; the event counts as kept."""
        return True

    def flush(self, timeout: float = 5.0) -> bool:
        """Nothing to deliver."""
        return True

    def stats(self) -> DeliveryStats:
        """Every counter at zero, and no destination."""
        return cast(DeliveryStats, {**dict.fromkeys(COUNTERS, 0), "destinations": {}})

    def close(self, timeout: float | None = None) -> bool:
        """Nothing to close."""
        return True
