"""The retry policy: how long to wait before writing a failed batch again, and when to
stop (declarative, like Segment's ``backoff`` decorator and PostHog's ``is_retryable``).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

__all__ = ["RetryPolicy", "retryable"]


def retryable(exc: BaseException) -> bool:
    """Whether writing again may succeed: all errors but ``BackendError(retryable=False)``
    (or any error with a false ``retryable`` attribute)."""
    return getattr(exc, "retryable", True) is not False


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential backoff with full jitter, bounded in attempts and in time.

    Attempt ``n`` (from 0) waits a random time up to ``base_delay * 2**n``, capped at
    ``max_delay``; a ``retry_after`` the error carries is honoured up to ``max_delay``.
    At most ``max_retries`` retries, and none that would end past ``timeout`` seconds
    after the first attempt.
    """

    base_delay: float = 0.1
    max_delay: float = 30.0
    max_retries: int = 5
    timeout: float = 60.0

    def delay(self, attempt: int, error: BaseException) -> float:
        """Seconds to wait before retry number ``attempt + 1``."""
        cap = self.max_delay
        # Full jitter: spread the retries of many processes hitting one recovering backend.
        # (The exponent is capped: 2.0 ** 1024 overflows, and 2 ** 64 is plenty.)
        delay = random.uniform(0.0, min(cap, self.base_delay * 2.0 ** min(attempt, 64)))
        after = getattr(error, "retry_after", None)
        if isinstance(after, int | float) and not isinstance(after, bool) and math.isfinite(after):
            delay = max(delay, min(float(after), cap))
        return delay

    def retryable(self, exc: BaseException) -> bool:
        """Whether ``exc`` is worth a retry (see :func:`retryable`)."""
        return retryable(exc)

    def in_time(self, elapsed: float, delay: float) -> bool:
        """Whether a retry after ``delay`` more seconds still fits in ``timeout``."""
        return elapsed + delay <= self.timeout
