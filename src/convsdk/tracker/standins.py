"""The stand-ins of a tracker that records nothing (``enabled=False``, or built while a
test captures every tracker's events): a backend that stores nothing and a dispatcher
with no thread, no file and no write."""

from __future__ import annotations

from ..event import Event

#: The counters of :meth:`convsdk.dispatch.Dispatcher.stats`, all zero here.
STATS = (
    "enqueued",
    "delivered",
    "retried",
    "spooled",
    "replayed",
    "dead_lettered",
    "dropped",
    "queued",
    "spool_bytes",
    "corrupt",
)


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

    def stats(self) -> dict[str, int]:
        """Every counter at zero."""
        return dict.fromkeys(STATS, 0)

    def close(self, timeout: float | None = None) -> bool:
        """Nothing to close."""
        return True
