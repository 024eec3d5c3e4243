"""Rate limits in one process's memory (its threads share them)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence

from ..checks import is_int
from ..errors import ConfigError
from .gcra import EPSILON, Limit

__all__ = ["MemoryStore"]


class MemoryStore:
    """The limits of one process, for the ``max_keys`` keys used most recently.

    A key seen again after being dropped starts with a full bucket. Thread-safe.
    """

    __slots__ = ("_full_at", "_lock", "max_keys")

    def __init__(self, max_keys: int = 10_000) -> None:
        if not is_int(max_keys) or max_keys <= 0:
            raise ConfigError(
                f"must be a positive whole number, got {max_keys!r}", field="max_visitors"
            )
        self.max_keys = max_keys
        self._lock = threading.Lock()
        self._full_at: OrderedDict[str, float] = OrderedDict()

    def take(self, limits: Sequence[Limit], count: int, now: float) -> float:
        """See :meth:`RateStore.take`."""
        with self._lock:
            full_at = self._full_at
            over = 0.0
            updates = []
            for key, events, per in limits:
                start = full_at.get(key, now)  # advance(), inlined: this is per request
                if start < now:
                    start = now
                new = start + count * (per / events)
                if new - now - per > over:
                    over = new - now - per
                updates.append((key, new))
            if over > EPSILON:
                return over
            for key, new in updates:
                if key in full_at:
                    full_at.move_to_end(key)
                elif len(full_at) >= self.max_keys:
                    full_at.popitem(last=False)
                full_at[key] = new
            return 0.0

    def close(self) -> None:
        """Nothing to release."""

    def __len__(self) -> int:
        return len(self._full_at)

    def __repr__(self) -> str:
        return f"<MemoryStore keys={len(self)}>"
