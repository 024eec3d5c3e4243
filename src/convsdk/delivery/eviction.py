"""What eviction lost: the count of events deleted to keep the spool under its bound,
and a warning about it at most once a minute."""

from __future__ import annotations

import logging
import math
import time

__all__ = ["EvictionNotice"]

log = logging.getLogger("convsdk.spool")

_WARN_INTERVAL = 60.0  # seconds between two warnings of lost events


class EvictionNotice:
    """Counts evicted events (:attr:`evicted`) and says so, at most once a minute."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.evicted = 0
        self._unreported = 0
        self._warned_at = -math.inf

    def evicted_events(self, lost: int) -> None:
        """``lost`` events went with a deleted segment (the counts are in stats())."""
        self.evicted += lost
        self._unreported += lost
        now = time.monotonic()
        if now - self._warned_at >= _WARN_INTERVAL:
            log.warning(
                "spool over its limit of %d bytes: deleted the oldest segments "
                "(%d events lost since the last warning, %d in all)",
                self.max_bytes,
                self._unreported,
                self.evicted,
            )
            self._warned_at, self._unreported = now, 0
