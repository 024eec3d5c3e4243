"""A limit and its maths: GCRA, one number per key, and the interface of a store.

A limit allows ``events`` per ``per`` seconds for a key (a visitor, a client network).
It is a token bucket kept as one number per key, the time its bucket will be full
again (GCRA, the "generic cell rate algorithm"): a burst of up to ``events`` at once,
then ``events / per`` a second. It slides with time: unlike a fixed window, no window
boundary lets twice the limit through in a moment.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple, Protocol

from ..checks import is_int, is_number
from ..errors import ConfigError

__all__ = ["EPSILON", "Limit", "RateStore", "advance", "check_limit"]

#: Rounding slack, in seconds: ``7 * (60 / 7)`` may come out a hair above 60.
EPSILON = 1e-6


class Limit(NamedTuple):
    """``events`` per ``per`` seconds for ``key``."""

    key: str
    events: int
    per: float


def advance(full_at: float | None, now: float, count: int, limit: Limit) -> tuple[float, float]:
    """(when the bucket would be full after taking ``count``, seconds over the limit).

    ``full_at`` is the key's stored time (``None``: never seen, a full bucket). The
    take is allowed when the second number is not positive.

    >>> advance(None, 100.0, 60, Limit("k", 60, 60.0))
    (160.0, 0.0)
    """
    start = now if full_at is None or full_at < now else full_at
    new = start + count * (limit.per / limit.events)
    return new, new - now - limit.per


class RateStore(Protocol):
    """Where the limits' numbers live."""

    def take(self, limits: Sequence[Limit], count: int, now: float) -> float:
        """Take ``count`` from every limit at once: ``0.0`` when each allows it, else the
        seconds until all would. A refused take counts against none of them."""

    def close(self) -> None:
        """Release the store's connection, if any."""


def check_limit(option: str, limit: object) -> tuple[int, float]:
    """``(events, seconds)`` checked: a :class:`~convsdk.ConfigError` naming ``option``."""
    if not isinstance(limit, tuple | list) or len(limit) != 2:
        raise ConfigError(f"must be (events, seconds) or None, got {limit!r}", field=option)
    events, per = limit
    if not is_int(events) or events <= 0:
        raise ConfigError(f"events must be a positive whole number, got {events!r}", field=option)
    if not is_number(per) or not per > 0:
        raise ConfigError(f"the period must be positive seconds, got {per!r}", field=option)
    return events, float(per)
