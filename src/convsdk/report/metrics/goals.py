"""One row per goal: conversions, converters, revenue and time to convert."""

from __future__ import annotations

from collections.abc import Iterable

from ...goals import Goal, GoalSet
from ..dataset import Dataset
from .common import collect, goal_kinds, money, per_visitor, ratio, timing
from .model import GoalRow

__all__ = ["anonymous_total", "goal_rows"]


def goal_rows(dataset: Dataset, goals: GoalSet | None = None) -> list[GoalRow]:
    """One row per goal: defined goals in declaration order, then goals seen only in data."""
    total = len(dataset.visitors)
    kinds = goal_kinds(dataset, goals)
    counts = dict.fromkeys(kinds, 0)
    converters = dict.fromkeys(kinds, 0)
    revenue: dict[str, dict[str, list[float]]] = {name: {} for name in kinds}
    delays: dict[str, list[int]] = {name: [] for name in kinds}
    for visitor in dataset.visitors:
        seen = visitor.first_seen
        for name, hits in visitor.goals.items():
            if name not in counts:  # pragma: no cover - readers register every goal's kind
                continue
            counts[name] += hits.count
            converters[name] += 1
            delays[name].append(hits.first - seen)
            collect(revenue[name], hits.revenue)
    rows = []
    for name, kind in kinds.items():
        goal: Goal | None = goals.get(name) if goals is not None else None
        amounts = money(revenue[name])
        anonymous = dataset.anonymous_goals.get(name)
        anonymous_money: dict[str, list[float]] = {}
        collect(anonymous_money, anonymous.revenue if anonymous else None)
        rows.append(
            GoalRow(
                goal=name,
                kind=kind,
                stage=goal.stage if goal else None,
                role=goal.role if goal else None,
                defined=goal is not None,
                conversions=counts[name],
                visitors=converters[name],
                conversion_rate=ratio(converters[name], total),
                revenue=amounts,
                revenue_per_visitor=per_visitor(amounts, total),
                time_to_convert=timing(delays[name]),
                anonymous_conversions=anonymous.count if anonymous else 0,
                anonymous_revenue=money(anonymous_money),
            )
        )
    return rows


def anonymous_total(rows: Iterable[GoalRow]) -> tuple[int, dict[str, float]]:
    """Conversions without a visitor id over all ``rows``, and their revenue per currency."""
    conversions = 0
    revenue: dict[str, float] = {}
    for row in rows:
        conversions += row.anonymous_conversions
        for currency, amount in row.anonymous_revenue.items():
            revenue[currency] = revenue.get(currency, 0.0) + amount
    return conversions, dict(sorted(revenue.items()))
