"""The headline figures: events, visitors, converters and revenue of macro goals."""

from __future__ import annotations

from ..dataset import Dataset
from ..people import merged_counts
from .common import collect, iso, money, per_visitor, ratio
from .model import AnonymousSummary, Summary

__all__ = ["headline"]


def headline(dataset: Dataset, micro: list[str], macro: list[str]) -> Summary:
    """The headline figures; revenue is of macro goals. Visitors are people: visitor
    ids linked by a user id count once (:mod:`convsdk.report.people`)."""
    total = len(dataset.visitors)
    converters = micro_converters = 0
    revenue: dict[str, list[float]] = {}
    for visitor in dataset.visitors:
        goals = visitor.goals
        if any(name in goals for name in micro):
            micro_converters += 1
        hit = False
        for name in macro:
            hits = goals.get(name)
            if hits is not None:
                hit = True
                collect(revenue, hits.revenue)
        converters += hit
    anonymous_revenue: dict[str, list[float]] = {}
    anonymous_conversions = 0
    for name, hits in dataset.anonymous_goals.items():
        anonymous_conversions += hits.count
        if name in macro:
            collect(anonymous_revenue, hits.revenue)
    amounts = money(revenue)
    merged, people = merged_counts(dataset.links)
    return Summary(
        events=dataset.events,
        visitors=total,
        first_event=iso(dataset.first_event),
        last_event=iso(dataset.last_event),
        micro_converters=micro_converters,
        converters=converters,
        conversion_rate=ratio(converters, total),
        revenue=amounts,
        revenue_per_visitor=per_visitor(amounts, total),
        bot_visitors=dataset.bot_visitors,
        merged_visitor_ids=merged,
        merged_people=people,
        anonymous=AnonymousSummary(
            events=dataset.anonymous_events,
            interactions=dataset.anonymous_interactions,
            conversions=anonymous_conversions,
            revenue=money(anonymous_revenue),
            server_side=dataset.server_side_events,
            server_side_users=dataset.server_side_users,
        ),
    )
