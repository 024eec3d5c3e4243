"""One row per goal: conversions, converters, revenue and time to convert."""

from __future__ import annotations

from array import array
from collections.abc import Iterable
from typing import TypeVar

from ...goals import Goal, GoalSet
from ..dataset import Dataset, GoalHits, VisitorSummary
from .common import collect, durations, fold, goal_kinds, money, per_visitor, ratio, timing
from .model import GoalRow
from .states import (
    InconsistentState,
    State,
    add_amounts,
    amounts_state,
    as_count,
    as_mapping,
    as_values,
    bag,
    count_of,
    mapping_of,
)

__all__ = ["GoalCounts", "anonymous_total", "goal_rows"]

T = TypeVar("T")


class GoalCounts:
    """Counts each goal's conversions, converters, revenue and delays, person by person."""

    def __init__(self, kinds: dict[str, str]) -> None:
        self.kinds = kinds
        self.visitors = 0
        self.counts = dict.fromkeys(kinds, 0)
        self.converters = dict.fromkeys(kinds, 0)
        self.revenue: dict[str, dict[str, list[float]]] = {name: {} for name in kinds}
        self.delays: dict[str, array[int]] = {name: durations() for name in kinds}

    def add(self, visitor: VisitorSummary) -> None:
        """Count ``visitor``."""
        self.visitors += 1
        goals = visitor.goals
        if not goals:
            return
        seen = visitor.first_seen
        counts, converters, delays = self.counts, self.converters, self.delays
        for name, hits in goals.items():
            if name not in counts:  # pragma: no cover - readers register every goal's kind
                continue
            counts[name] += hits.count
            converters[name] += 1
            delays[name].append(hits.first - seen)
            if hits.revenue:
                collect(self.revenue[name], hits.revenue)

    def state(self) -> State:
        """The counts as plain data (:mod:`.states`)."""
        return {
            "visitors": self.visitors,
            "counts": dict(self.counts),
            "converters": dict(self.converters),
            "revenue": {name: amounts_state(found) for name, found in self.revenue.items()},
            "delays": {name: bag(found, "q") for name, found in self.delays.items()},
        }

    def restore(self, state: State) -> None:
        """Add the counts of ``state`` (as :meth:`state` gives them) to these."""
        self.visitors += count_of(state, "visitors")
        for field in ("counts", "converters"):
            mine: dict[str, int] = getattr(self, field)
            for name, count in mapping_of(state, field).items():
                _known(mine, name)
                mine[name] += as_count(count)
        for name, amounts in mapping_of(state, "revenue").items():
            add_amounts(_known(self.revenue, name), as_mapping(amounts))
        for name, delays in mapping_of(state, "delays").items():
            _known(self.delays, name).extend(as_values(delays))

    def rows(self, goals: GoalSet | None, anonymous_goals: dict[str, GoalHits]) -> list[GoalRow]:
        """One row per goal, in the order of the kinds given; ``anonymous_goals``: the
        conversions without a visitor id."""
        total = self.visitors
        rows = []
        for name, kind in self.kinds.items():
            goal: Goal | None = goals.get(name) if goals is not None else None
            amounts = money(self.revenue[name])
            anonymous = anonymous_goals.get(name)
            anonymous_money: dict[str, list[float]] = {}
            collect(anonymous_money, anonymous.revenue if anonymous else None)
            converters = self.converters[name]
            rows.append(
                GoalRow(
                    goal=name,
                    kind=kind,
                    stage=goal.stage if goal else None,
                    role=goal.role if goal else None,
                    defined=goal is not None,
                    conversions=self.counts[name],
                    visitors=converters,
                    conversion_rate=ratio(converters, total),
                    revenue=amounts,
                    revenue_per_visitor=per_visitor(amounts, total),
                    time_to_convert=timing(self.delays[name]),
                    anonymous_conversions=anonymous.count if anonymous else 0,
                    anonymous_revenue=money(anonymous_money),
                )
            )
        return rows


def goal_rows(dataset: Dataset, goals: GoalSet | None = None) -> list[GoalRow]:
    """One row per goal: defined goals in declaration order, then goals seen only in data."""
    counts = GoalCounts(goal_kinds(dataset, goals))
    fold(dataset.visitors, counts)
    return counts.rows(goals, dataset.anonymous_goals)


def anonymous_total(rows: Iterable[GoalRow]) -> tuple[int, dict[str, float]]:
    """Conversions without a visitor id over all ``rows``, and their revenue per currency."""
    conversions = 0
    revenue: dict[str, float] = {}
    for row in rows:
        conversions += row.anonymous_conversions
        for currency, amount in row.anonymous_revenue.items():
            revenue[currency] = revenue.get(currency, 0.0) + amount
    return conversions, dict(sorted(revenue.items()))


def _known(counts: dict[str, T], name: object) -> T:
    """The counts of goal ``name``, which the report must know of."""
    if not isinstance(name, str) or name not in counts:
        raise InconsistentState(f"no goal {name!r} in this report")
    return counts[name]
