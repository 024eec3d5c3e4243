"""Small measures every section of the report shares: ratios, money, timings, rates."""

from __future__ import annotations

import math
from array import array
from collections.abc import Iterable, Mapping, Sequence
from typing import Protocol

from ...goals import GoalSet
from ..dataset import Dataset, VisitorSummary, from_micros
from ..stats import median, percentile, wilson_interval
from .model import Rate, Timing

__all__ = [
    "Section",
    "collect",
    "declared_kinds",
    "fold",
    "funnel_steps",
    "goal_kinds",
    "iso",
    "money",
    "per_visitor",
    "rate",
    "ratio",
    "timing",
]

MONEY_DIGITS = 6


class Section(Protocol):
    """A section of the report as it counts: fed every person once, in any order."""

    def add(self, visitor: VisitorSummary) -> None:
        """Count ``visitor`` (a person: see :mod:`convsdk.report.people`)."""
        ...


def fold(visitors: Iterable[VisitorSummary], *sections: Section) -> None:
    """Feed every one of ``visitors`` to each of ``sections``, in one pass: a reader's
    :class:`~convsdk.report.dataset.VisitorStream` is read once."""
    adds = [section.add for section in sections]
    for visitor in visitors:
        for add in adds:
            add(visitor)


def ratio(numerator: float, denominator: float) -> float | None:
    """``numerator / denominator``; ``None`` when the denominator is 0."""
    return numerator / denominator if denominator else None


def money(amounts: Mapping[str, Iterable[float]]) -> dict[str, float]:
    # fsum is exact whatever the order of the values, so every reader gets the same
    # total; rounding hides the last-bit differences of per-visitor partial sums.
    """Amounts per currency summed exactly, rounded, currencies in order."""
    return {
        currency: round(math.fsum(values), MONEY_DIGITS)
        for currency, values in sorted(amounts.items())
    }


def per_visitor(revenue: Mapping[str, float], visitors: int) -> dict[str, float]:
    """``revenue`` divided by ``visitors``; empty for no visitors."""
    if not visitors:
        return {}
    return {c: round(v / visitors, MONEY_DIGITS) for c, v in revenue.items()}


def collect(target: dict[str, list[float]], revenue: Mapping[str, float] | None) -> None:
    """Append each of ``revenue``'s amounts to ``target``'s list for its currency."""
    if revenue:
        for currency, value in revenue.items():
            target.setdefault(currency, []).append(value)


def durations() -> array[int]:
    """An empty collection of durations in microseconds, as the sections keep them:
    8 bytes each, where a list of ints takes 36 (a report over millions of events
    keeps one or more per converter)."""
    return array("q")


def addends() -> array[float]:
    """An empty collection of amounts summed at the end (credit, revenue shares)."""
    return array("d")


def timing(micros: Sequence[int]) -> Timing:
    """Median and p90, in seconds, of durations in microseconds (a list, or the
    ``array("q")`` the sections collect them in: 8 bytes a duration, not 36)."""
    ordered = sorted(micros)
    mid = median(ordered)
    p90 = percentile(ordered, 0.9)
    # Rounded to the microsecond the times were measured in: the interpolation's
    # floating-point dust (1440.0000000000002 s) is not information.
    return Timing(
        count=len(ordered),
        median=None if mid is None else round(mid / 1e6, 6),
        p90=None if p90 is None else round(p90 / 1e6, 6),
    )


def rate(converted: int, visitors: int) -> Rate:
    """``converted`` of ``visitors`` with its 95 % Wilson interval."""
    interval = wilson_interval(converted, visitors)
    return Rate(
        visitors=visitors,
        converted=converted,
        rate=ratio(converted, visitors),
        ci_low=None if interval is None else interval[0],
        ci_high=None if interval is None else interval[1],
    )


def iso(micros: int | None) -> str | None:
    """Microseconds since the epoch as ISO-8601 text; ``None`` for ``None``."""
    return None if micros is None else from_micros(micros).isoformat(timespec="microseconds")


def funnel_steps(goals: GoalSet | None) -> set[str]:
    """The goals that are funnel steps (every conversion time of theirs matters)."""
    return {step for funnel in goals.funnels for step in funnel.steps} if goals else set()


def declared_kinds(goals: GoalSet | None) -> dict[str, str]:
    """The goal file's kind of each goal (over the kinds stored on events)."""
    return {goal.name: goal.kind for goal in goals.goals} if goals else {}


def goal_kinds(dataset: Dataset, goals: GoalSet | None) -> dict[str, str]:
    """Every goal, defined ones first in declaration order, then the others by name."""
    kinds: dict[str, str] = {}
    if goals is not None:
        for goal in goals:
            kinds[goal.name] = goal.kind
    for name in sorted(dataset.goal_kinds):
        kinds.setdefault(name, dataset.goal_kinds[name])
    return kinds
