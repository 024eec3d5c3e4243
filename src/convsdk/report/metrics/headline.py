"""The headline figures: events, visitors, converters and revenue of macro goals."""

from __future__ import annotations

from ..dataset import Dataset, VisitorSummary
from ..people import merged_counts
from .common import collect, fold, iso, money, per_visitor, ratio
from .model import AnonymousSummary, Summary

__all__ = ["Headline", "headline"]


class Headline:
    """Counts people, converters and macro revenue, one person at a time."""

    def __init__(self, micro: list[str], macro: list[str]) -> None:
        self.micro = micro
        self.macro = macro
        self.visitors = 0
        self.converters = 0
        self.micro_converters = 0
        self.revenue: dict[str, list[float]] = {}

    def add(self, visitor: VisitorSummary) -> None:
        """Count ``visitor``."""
        self.visitors += 1
        goals = visitor.goals
        if not goals:
            return
        for name in self.micro:
            if name in goals:
                self.micro_converters += 1
                break
        hit = False
        for name in self.macro:
            hits = goals.get(name)
            if hits is not None:
                hit = True
                collect(self.revenue, hits.revenue)
        self.converters += hit

    def summary(self, dataset: Dataset) -> Summary:
        """The headline of ``dataset``, whose people this has counted."""
        total = self.visitors
        anonymous_revenue: dict[str, list[float]] = {}
        anonymous_conversions = 0
        for name, hits in dataset.anonymous_goals.items():
            anonymous_conversions += hits.count
            if name in self.macro:
                collect(anonymous_revenue, hits.revenue)
        amounts = money(self.revenue)
        merged, people = merged_counts(dataset.links)
        return Summary(
            events=dataset.events,
            visitors=total,
            first_event=iso(dataset.first_event),
            last_event=iso(dataset.last_event),
            micro_converters=self.micro_converters,
            converters=self.converters,
            conversion_rate=ratio(self.converters, total),
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


def headline(dataset: Dataset, micro: list[str], macro: list[str]) -> Summary:
    """The headline figures; revenue is of macro goals. Visitors are people: visitor
    ids linked by a user id count once (:mod:`convsdk.report.people`)."""
    counter = Headline(micro, macro)
    fold(dataset.visitors, counter)
    return counter.summary(dataset)
