"""Limiting with a store: :class:`RateLimiter` (one limit per key) and
:class:`FallbackStore` (a per-process limit while the shared store fails)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence

from .gcra import Limit, RateStore, check_limit
from .memory import MemoryStore

__all__ = ["FallbackStore", "RateLimiter"]

log = logging.getLogger("convsdk.ratelimit")


class FallbackStore:
    """A shared store that, while it fails, gives way to a :class:`MemoryStore`.

    An error is logged (at most once a minute) and the shared store is left alone
    for ``retry_after`` seconds: a site whose Redis is down keeps a limit per process
    instead of waiting on timeouts or letting everything through.
    """

    def __init__(
        self,
        shared: RateStore,
        fallback: MemoryStore | None = None,
        *,
        retry_after: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.shared = shared
        self.fallback = fallback if fallback is not None else MemoryStore()
        self.retry_after = retry_after
        self._clock = clock
        self._down_until = 0.0
        self._logged_at: float | None = None

    def take(self, limits: Sequence[Limit], count: int, now: float) -> float:
        """See :meth:`RateStore.take`."""
        if self._down_until:
            if self._clock() < self._down_until:
                return self.fallback.take(limits, count, now)
            self._down_until = 0.0
        try:
            return self.shared.take(limits, count, now)
        except Exception as exc:
            moment = self._clock()
            self._down_until = moment + self.retry_after
            if self._logged_at is None or moment - self._logged_at >= 60.0:
                self._logged_at = moment
                log.warning(
                    "the shared rate limit store %r failed (%s: %s): limiting per process "
                    "for %.0f s",
                    self.shared,
                    type(exc).__name__,
                    exc,
                    self.retry_after,
                )
            return self.fallback.take(limits, count, now)

    def close(self) -> None:
        """Close the shared store."""
        self.shared.close()

    def __repr__(self) -> str:
        return f"<FallbackStore {self.shared!r}>"


class RateLimiter:
    """One limit per key: ``events`` per ``per`` seconds, in bursts of ``events``.

    Kept in ``store`` (default: a :class:`MemoryStore` of ``max_keys`` keys).

    >>> limiter = RateLimiter(60, 60.0)
    >>> limiter.take("visitor", 5)   # 0.0: allowed; else the seconds to wait
    0.0
    """

    def __init__(
        self,
        events: int,
        per: float,
        *,
        max_keys: int = 10_000,
        clock: Callable[[], float] = time.time,
        store: RateStore | None = None,
    ) -> None:
        check_limit("rate_limit", (events, per))
        self.events = events
        self.per = float(per)
        self.store: RateStore = store if store is not None else MemoryStore(max_keys)
        self._clock = clock

    def take(self, key: str, count: int = 1) -> float:
        """Take ``count`` events: ``0.0`` when allowed, else seconds until they would be.

        A refused request takes nothing.
        """
        return self.store.take([Limit(key, self.events, self.per)], count, self._clock())

    def __len__(self) -> int:
        return len(self.store)  # type: ignore[arg-type]
