"""``memory://``: events kept in a list in this process, for tests and demos."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from ..errors import BackendError, ConfigError
from ..event import Event

__all__ = ["MemoryBackend"]


class MemoryBackend:
    """Keep every written event in :attr:`events` (thread-safe, in write order).

    >>> backend = MemoryBackend()
    >>> tracker = convsdk.Tracker(backend=backend)
    """

    def __init__(self) -> None:
        self._events: list[Event] = []
        self._lock = threading.Lock()
        self.closed = False

    @classmethod
    def from_url(cls, url: str, **options: Any) -> MemoryBackend:
        """Build from ``memory://`` (the URL carries nothing else)."""
        query = urlsplit(url).query
        if query or options:
            name = next(iter(options), None) or query.partition("=")[0]
            raise ConfigError(f"unknown option {name!r}: memory:// takes none", field=name)
        return cls()

    @property
    def events(self) -> list[Event]:
        """A copy of the events written so far."""
        with self._lock:
            return list(self._events)

    def write(self, events: Sequence[Event]) -> None:
        """Append the batch; after :meth:`close`, raise a permanent error."""
        if self.closed:
            raise BackendError("written after close()", backend="memory", retryable=False)
        with self._lock:
            self._events.extend(events)

    def clear(self) -> None:
        """Forget the events written so far."""
        with self._lock:
            self._events.clear()

    def close(self) -> None:
        """Mark the backend closed; the events stay readable."""
        self.closed = True
