"""A report's range cut in two: the whole UTC days the rollups answer for, the rest raw.

For ``since = 11-02 10:00`` and ``until = 11-05 12:00`` the rollups give 11-03 and
11-04; the events of 11-02 from 10:00 and of 11-05 up to 12:00 are read as events, and
so is every event after the watermark, whatever its day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ...event import format_timestamp
from ..dataset import from_micros, to_micros
from .state import DAY

__all__ = ["Span"]

# Day numbers standing for "no bound" in SQL (days since the epoch).
_FAR = 1 << 40


@dataclass(frozen=True, slots=True)
class Span:
    """The days of ``[since, until)`` held whole, and the raw ranges at its edges."""

    since: datetime | None
    until: datetime | None

    @property
    def days(self) -> tuple[int, int]:
        """``[first, end)``: the whole UTC days inside the range, as day numbers (empty
        when ``first >= end``)."""
        first = -_FAR if self.since is None else -(-to_micros(self.since) // DAY)
        end = _FAR if self.until is None else to_micros(self.until) // DAY
        return first, end

    @property
    def has_days(self) -> bool:
        """Whether any whole day is inside the range."""
        first, end = self.days
        return first < end

    def edges(self) -> list[tuple[str | None, str | None]]:
        """The ``[low, high)`` ranges of stored timestamps (``None``: no bound) to read
        as events, beside the whole days: at most one at each end, or the whole range
        when it holds no whole day."""
        low = None if self.since is None else format_timestamp(self.since)
        high = None if self.until is None else format_timestamp(self.until)
        if not self.has_days:
            return [(low, high)]
        first, end = self.days
        found: list[tuple[str | None, str | None]] = []
        if self.since is not None and to_micros(self.since) < first * DAY:
            found.append((low, _day_text(first)))
        if self.until is not None and end * DAY < to_micros(self.until):
            found.append((_day_text(end), high))
        return found

    def bounds(self) -> list[str]:
        """The stored timestamps of ``since`` and ``until``, those given."""
        return [format_timestamp(m) for m in (self.since, self.until) if m is not None]

    def condition(self, column: str) -> str:
        """The SQL test of ``column`` being in the range, with :meth:`bounds` for its
        parameters."""
        clauses = []
        if self.since is not None:
            clauses.append(f"{column} >= ?")
        if self.until is not None:
            clauses.append(f"{column} < ?")
        return " AND ".join(clauses) or "1"


def _day_text(day: int) -> str:
    """The stored timestamp of the start of ``day``."""
    return format_timestamp(from_micros(day * DAY))
