"""What the collector accepts of an event beyond its schema: sane values and times."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from ..errors import ConfigError
from ..event import Event

__all__ = ["DEFAULT_EARLIEST", "Bounds", "span"]

#: The earliest timestamp the collector accepts by default.
DEFAULT_EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Bounds:
    """What the collector accepts of an event beyond its schema: sane values and times.

    >>> Bounds(max_value=1e6, max_future=timedelta(hours=1))
    """

    max_value: float = 1e9
    """The largest ``value``, either sign."""
    max_future: timedelta = timedelta(days=7)
    """How far ahead of the collector's clock a ``timestamp`` may be."""
    earliest: datetime = DEFAULT_EARLIEST
    """The earliest ``timestamp``."""

    def __post_init__(self) -> None:
        if (
            isinstance(self.max_value, bool)
            or not isinstance(self.max_value, int | float)
            or not 0 < self.max_value < math.inf
        ):
            raise ConfigError(f"must be a number > 0, got {self.max_value!r}", field="max_value")
        if not isinstance(self.max_future, timedelta) or self.max_future < timedelta(0):
            raise ConfigError(
                f"must be a timedelta of 0 or more, got {self.max_future!r}", field="max_future"
            )
        if not isinstance(self.earliest, datetime) or self.earliest.tzinfo is None:
            raise ConfigError(
                f"must be a timezone-aware datetime, got {self.earliest!r}", field="earliest"
            )

    def problems(self, events: list[Event]) -> dict[int, dict[str, list[str]]]:
        """The out-of-bounds fields of ``events``, by index (empty: all in bounds)."""
        errors: dict[int, dict[str, list[str]]] = {}
        latest = datetime.now(UTC) + self.max_future
        limit = self.max_value
        for i, event in enumerate(events):
            value = event.value
            if value is not None and not -limit <= value <= limit:
                errors.setdefault(i, {})["value"] = [f"Must be at most {limit:g} either way."]
            when = event.timestamp
            if when < self.earliest:
                errors.setdefault(i, {})["timestamp"] = [
                    f"Must not be before {self.earliest.isoformat()}."
                ]
            elif when > latest:
                errors.setdefault(i, {})["timestamp"] = [
                    f"Must not be more than {span(self.max_future)} ahead of the collector's clock."
                ]
        return errors


def span(delta: timedelta) -> str:
    """``delta`` in words: whole days, or seconds."""
    seconds = delta.total_seconds()
    if seconds and seconds % 86_400 == 0:
        return f"{seconds / 86_400:g} days"
    return f"{seconds:g} seconds"
