"""Newly folded states merged into the stored ones, as rows to store back (any store)."""

from __future__ import annotations

from collections.abc import Callable

from .fold import RollupFold
from .schema import decode, encode
from .state import VisitorDay
from .totals import DayTotals

__all__ = ["DayRow", "VisitorRow", "day_rows", "visitor_rows"]

#: A visitor-day as stored: ``(visitor id, day, state)``.
VisitorRow = tuple[str, int, bytes]
#: A day's totals as stored: ``(day, state)``.
DayRow = tuple[int, bytes]


def visitor_rows(
    fold: RollupFold, find: Callable[[tuple[str, int]], bytes | None]
) -> list[VisitorRow]:
    """``fold``'s visitor-day states, each merged with the stored one ``find`` gives
    for its (visitor id, day), if any."""
    rows = []
    for key, state in fold.visitors.items():
        found = find(key)
        if found is not None:
            merged = VisitorDay(*decode(found))
            merged.merge(state)
            state = merged
        rows.append((key[0], key[1], encode(state.record())))
    return rows


def day_rows(fold: RollupFold, find: Callable[[int], bytes | None]) -> list[DayRow]:
    """``fold``'s day totals, each merged with the stored ones ``find`` gives, if any."""
    rows = []
    for day, totals in fold.days.items():
        found = find(day)
        if found is not None:
            merged = DayTotals(*decode(found))
            merged.merge(totals)
            totals = merged
        rows.append((day, encode(totals.record())))
    return rows
