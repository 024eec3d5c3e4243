"""The cyclic garbage collector, paused while a report reads its events."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["collector_paused"]


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector for the block, then restore it.

    Reading builds millions of small containers and frees none of them in a cycle; the
    collector would walk them all again and again (a sixth of the time on a million
    events) to find nothing. Paused, not disabled for good.
    """
    paused = gc.isenabled()
    if paused:
        gc.disable()
    try:
        yield
    finally:
        if paused:
            gc.enable()
