"""The headline figures: events, visitors, converters and revenue of macro goals."""

from __future__ import annotations

from ..dataset import Dataset, VisitorSummary
from ..people import merged_counts
from .common import collect, fold, iso, money, per_visitor, ratio
from .model import AnonymousSummary, Summary
from .states import State, add_amounts, amounts_state, count_of, mapping_of

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

    def state(self) -> State:
        """The counts as plain data (:mod:`.states`)."""
        return {
            "visitors": self.visitors,
            "converters": self.converters,
            "micro_converters": self.micro_converters,
            "revenue": amounts_state(self.revenue),
        }

    def restore(self, state: State) -> None:
        """Add the counts of ``state`` (as :meth:`state` gives them) to these."""
        self.visitors += count_of(state, "visitors")
        self.converters += count_of(state, "converters")
        self.micro_converters += count_of(state, "micro_converters")
        add_amounts(self.revenue, mapping_of(state, "revenue"))

    def summary(self, dataset: Dataset, merged: tuple[int, int] | None = None) -> Summary:
        """The headline of ``dataset``, whose people this has counted; ``merged``: the
        visitor ids merged into people and the people they make, when ``dataset`` does
        not list every link (else counted from its links)."""
        total = self.visitors
        anonymous_revenue: dict[str, list[float]] = {}
        anonymous_conversions = 0
        for name, hits in dataset.anonymous_goals.items():
            anonymous_conversions += hits.count
            if name in self.macro:
                collect(anonymous_revenue, hits.revenue)
        amounts = money(self.revenue)
        ids, people = merged_counts(dataset.links) if merged is None else merged
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
            merged_visitor_ids=ids,
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
