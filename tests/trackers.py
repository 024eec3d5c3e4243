"""A tracker made the default for a test: in memory, no spool, closed at the end."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from convsdk import Tracker
from convsdk.backends.memory import MemoryBackend
from convsdk.tracker import set_default


@contextmanager
def default_tracker(memory: MemoryBackend, **options: Any) -> Iterator[Tracker]:
    """A tracker writing to ``memory`` with ``options``, the default one inside the
    block; the previous default comes back and the tracker is closed on the way out."""
    tracker = Tracker(backend=memory, spool_dir=None, **options)
    previous = set_default(tracker)
    try:
        yield tracker
    finally:
        set_default(previous)
        tracker.close()
