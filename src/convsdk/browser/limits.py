"""The collect endpoint's rate limits: one per visitor, one per client network.

They are token buckets (see :mod:`convsdk.ratelimit`) counted where every worker sees
them: ``rate_limit_url`` (``redis://...``, ``sqlite:///path``, ``memory:``), else the
tracker's Redis backend, else a SQLite file (:data:`LIMITS_FILE`) in its
``spool_dir``, else each process's memory.
"""

from __future__ import annotations

import logging
import math
import os
import sys
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError
from ..ratelimit import (
    FallbackStore,
    FileStore,
    Limit,
    MemoryStore,
    RateStore,
    check_limit,
    store_from_url,
)
from .answers import Answer, refuse
from .config import positive_int

if TYPE_CHECKING:
    from ..tracker import Tracker

__all__ = ["LIMITS_FILE", "RateLimits"]

log = logging.getLogger("convsdk.beacon")

#: The rate limits' file in the tracker's spool directory (see :mod:`convsdk.ratelimit`).
LIMITS_FILE = "beacon-limits.sqlite3"


def limit_option(option: str, limit: Any, max_events: int) -> tuple[int, float] | None:
    """``(events, seconds)`` checked, or ``None``; a full batch must fit in it."""
    if limit is None:
        return None
    events, per = check_limit(option, limit)
    if events < max_events:
        raise ConfigError(
            f"allows {events} events per period, fewer than max_events "
            f"({max_events}): a full batch could never be accepted",
            field=option,
        )
    return events, per


class RateLimits:
    """The visitor's and the network's limits, and the store each tracker's are counted in."""

    def __init__(
        self,
        rate_limit: Any,
        network_rate_limit: Any,
        url: str | None,
        max_visitors: int,
        max_events: int,
        clock: Callable[[], float],
    ) -> None:
        self.rate_limit = limit_option("rate_limit", rate_limit, max_events)
        self.network_rate_limit = limit_option("network_rate_limit", network_rate_limit, max_events)
        self.max_visitors = positive_int("max_visitors", max_visitors)
        self._clock = clock
        self._lock = threading.Lock()
        # (tracker, store) of the limits; with a url, one store for every tracker
        self._bound: tuple[Tracker | None, RateStore] | None = None
        if url is not None:
            self._bound = (None, self._shared(store_from_url(url)))

    def take(self, key: str, network: str, count: int, tracker: Tracker) -> Answer | None:
        """Count ``count`` events of a visitor (``key``) and its network: ``None`` when
        allowed, else a ``429`` answer with ``Retry-After``."""
        if self.rate_limit is None and self.network_rate_limit is None:
            return None
        limits = []
        if self.rate_limit is not None:
            limits.append(Limit(key, *self.rate_limit))
        if self.network_rate_limit is not None:
            limits.append(Limit(network, *self.network_rate_limit))
        wait = self.store(tracker).take(limits, count, self._clock())
        if wait > 0:
            retry = str(max(1, math.ceil(wait)))
            return refuse(429, "too many events", ("Retry-After", retry))
        return None

    def store(self, tracker: Tracker) -> RateStore:
        """Where the limits of requests recorded with ``tracker`` are counted."""
        bound = self._bound
        if bound is not None and (bound[0] is None or bound[0] is tracker):
            return bound[1]
        with self._lock:
            bound = self._bound
            if bound is None or bound[0] is not tracker:
                bound = self._bound = (tracker, self._default_store(tracker))
            return bound[1]

    def _shared(self, store: RateStore) -> RateStore:
        if isinstance(store, MemoryStore):
            return store
        return FallbackStore(store, MemoryStore(self.max_visitors))

    def _default_store(self, tracker: Tracker) -> RateStore:
        """The store the site already has: its Redis backend, else a file in its spool."""
        redis_backend = sys.modules.get("convsdk.backends.redis")  # loaded if in use
        if redis_backend is not None and isinstance(tracker.backend, redis_backend.RedisBackend):
            from ..ratelimit.redis import RedisStore

            return self._shared(RedisStore(tracker.backend.client))
        if tracker.spool_dir is not None:
            path = os.path.join(tracker.spool_dir, LIMITS_FILE)
            try:
                return self._shared(FileStore(path))
            except ConfigError as exc:
                log.warning("%s: rate limits are kept per process", exc)
        else:
            log.info(
                "no spool_dir and no rate_limit_url: the collect endpoint's rate limits are "
                "kept per process"
            )
        return MemoryStore(self.max_visitors)
