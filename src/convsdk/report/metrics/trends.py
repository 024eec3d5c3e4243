"""Trends: visitors, converters, conversions, rate and revenue per day, week or month.

Visitors are counted in the period of their first event in the range (a cohort), with
every macro conversion they made in the range: the rate of a period is the share of its
new visitors who converted, as GA4's cohort exploration counts it. Days are those of the
report's time zone (UTC unless the report names another), as GA4 counts them in the
property's.
"""

from __future__ import annotations

from datetime import date, timedelta, tzinfo

from ..dataset import Dataset, VisitorSummary, from_micros
from ..period import local_day
from .common import collect, fold, money, ratio
from .model import Trend, TrendPoint
from .states import (
    InconsistentState,
    State,
    add_amounts,
    amounts_state,
    as_mapping,
    count_of,
    mapping_of,
)

__all__ = ["INTERVALS", "TrendCounts", "trend"]

#: The intervals a trend is cut by.
INTERVALS = ("day", "week", "month")


def _period_start(day: date, interval: str) -> date:
    if interval == "week":
        return day - timedelta(days=day.weekday())  # ISO weeks start on Monday
    if interval == "month":
        return day.replace(day=1)
    return day


def _next(start: date, interval: str) -> date:
    if interval == "week":
        return start + timedelta(days=7)
    if interval == "month":
        return (start.replace(day=28) + timedelta(days=4)).replace(day=1)
    return start + timedelta(days=1)


def _label(start: date, interval: str) -> str:
    if interval == "week":
        year, week, _ = start.isocalendar()
        return f"{year}-W{week:02d}"
    if interval == "month":
        return start.strftime("%Y-%m")
    return start.isoformat()


class TrendCounts:
    """Counts people by the period of their first event, with their macro conversions."""

    def __init__(self, macro: list[str], interval: str, zone: tzinfo | None = None) -> None:
        if interval not in INTERVALS:
            raise ValueError(f"interval must be one of {', '.join(INTERVALS)}")
        self.macro = macro
        self.interval = interval
        self.zone = zone
        self.groups: dict[date, list[int]] = {}
        self.revenue: dict[date, dict[str, list[float]]] = {}

    def add(self, visitor: VisitorSummary) -> None:
        """Count ``visitor`` in the period of their first event (its day in the zone)."""
        day = local_day(from_micros(visitor.first_seen), self.zone)
        start = _period_start(day, self.interval)
        counts = self.groups.setdefault(start, [0, 0, 0])
        counts[0] += 1
        conversions = 0
        for name in self.macro:
            hits = visitor.goals.get(name)
            if hits is not None:
                conversions += hits.count
                collect(self.revenue.setdefault(start, {}), hits.revenue)
        if conversions:
            counts[1] += 1
            counts[2] += conversions

    def state(self) -> State:
        """The counts as plain data (:mod:`.states`): per period, by its first day's
        ordinal."""
        return {
            start.toordinal(): {
                "visitors": visitors,
                "converters": converters,
                "conversions": conversions,
                "revenue": amounts_state(self.revenue.get(start, {})),
            }
            for start, (visitors, converters, conversions) in self.groups.items()
        }

    def restore(self, state: State) -> None:
        """Add the counts of ``state`` (as :meth:`state` gives them) to these."""
        for day, figures in as_mapping(state).items():
            if not isinstance(day, int) or isinstance(day, bool) or day < 1:
                raise InconsistentState(f"no period starts on day {day!r}")
            start = date.fromordinal(day)
            counts = self.groups.setdefault(start, [0, 0, 0])
            for k, field in enumerate(("visitors", "converters", "conversions")):
                counts[k] += count_of(figures, field)
            amounts = mapping_of(figures, "revenue")
            if amounts:
                add_amounts(self.revenue.setdefault(start, {}), amounts)

    def trend(self) -> Trend:
        """Every period from the first to the last present, empty ones included."""
        interval, groups = self.interval, self.groups
        points = []
        if groups:
            start, last = min(groups), max(groups)
            while start <= last:
                visitors, converters, conversions = groups.get(start, (0, 0, 0))
                points.append(
                    TrendPoint(
                        period=_label(start, interval),
                        start=start.isoformat(),
                        visitors=visitors,
                        converters=converters,
                        conversions=conversions,
                        conversion_rate=ratio(converters, visitors),
                        revenue=money(self.revenue.get(start, {})),
                    )
                )
                start = _next(start, interval)
        return Trend(interval=interval, points=points)


def trend(dataset: Dataset, macro: list[str], interval: str, zone: tzinfo | None = None) -> Trend:
    """The series of ``dataset`` by ``interval`` (``day``, ``week`` or ``month``) of
    ``zone`` (default UTC), every period from the first to the last present, empty ones
    included."""
    counts = TrendCounts(macro, interval, zone)
    fold(dataset.visitors, counts)
    return counts.trend()
