"""A report's dataset put together from rollups and the events they do not hold.

In order: the events read raw (after the watermark, and the partial days at the edges
of the range) folded as the rollups fold them; the day totals; the repeated
transactions (which conversion counts); every goal's kind; the visitor ids linked to
user ids, made people; then the stream of the other visitors, in visitor id order.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from ..dataset import Dataset, VisitorStream
from ..progress import ProgressCallback, report_progress
from .agents import BotCheck
from .finish import Finisher
from .fold import RollupFold
from .linked import linked_people
from .schema import decode
from .source import RollupSource
from .span import Span
from .state import VisitorDay
from .stream import merged_states, people
from .totals import DayTotals
from .transactions import settle_transactions

__all__ = ["Assembly", "Frame"]

_PHASES = 3  # events after the watermark, totals and people linked, the stream


@dataclass(slots=True)
class Frame:
    """What a report's people are made with: the dataset (its totals, kinds, conversions
    without a visitor; no people yet), the :class:`Finisher` of their summaries, the
    links of the range, and the states of the events read raw, by visitor."""

    dataset: Dataset
    finisher: Finisher
    links: list[tuple[str, str]]
    states: dict[str, VisitorDay]


class Assembly:
    """Reads one report's dataset from one read of ``source``."""

    def __init__(
        self,
        source: RollupSource,
        step_goals: Collection[str],
        goal_kinds: Mapping[str, str],
        include_bots: bool,
        progress: ProgressCallback | None,
    ) -> None:
        self.source = source
        self.step_goals = step_goals
        self.goal_kinds = goal_kinds
        #: Who is left out as a bot, the verdicts remembered (kept with counts).
        self.bots = BotCheck(include_bots)
        self.progress = progress

    def dataset(
        self, since: datetime | None, until: datetime | None, *, raw: bool = True
    ) -> Dataset:
        """The dataset of ``[since, until)``; its people stream from the open read,
        which closes once they have all been read. ``raw=False``: of the rollups alone
        (the whole days of the range; the events after the watermark left out)."""
        span = Span(since, until)
        report_progress(self.progress, "reading new events", 0, _PHASES)
        fold = self.source.raw(span) if raw else RollupFold()
        report_progress(self.progress, "reading rollups", 1, _PHASES)
        frame = self.frame(span, fold)
        dataset, finisher, links, states = frame.dataset, frame.finisher, frame.links, frame.states
        linked, dataset.links, dataset.bot_visitors = linked_people(
            self.source, span, links, states, finisher, self.bots
        )
        report_progress(self.progress, "reading rollups", 2, _PHASES)
        rows = self._visitor_rows(span)
        merged = merged_states(rows, states, {v for v, _ in links})
        dataset.visitors = VisitorStream(
            people(merged, finisher, dataset, self.bots, linked, self.source.close)
        )
        return dataset

    def frame(self, span: Span, raw: RollupFold) -> Frame:
        """The frame of the people of ``span``: its whole days from the rollups, and the
        events of ``raw`` (read raw, folded)."""
        totals = self._totals(span, raw)
        transactions = settle_transactions(self.source, span, raw.transactions)
        kinds = dict(totals.kinds)
        for goal, kind in transactions.kinds(totals.order_kinds).items():
            if goal not in kinds or kind < kinds[goal]:
                kinds[goal] = kind
        finisher = Finisher(self.step_goals, {**kinds, **self.goal_kinds}, transactions)
        dataset = _totals_dataset(totals, kinds)
        dataset.anonymous_goals = finisher.goals(totals.goals, totals.orders)
        return Frame(dataset, finisher, self._links(span, raw), _by_visitor(raw.visitors))

    def _totals(self, span: Span, raw: RollupFold) -> DayTotals:
        """The totals of the whole days and of the raw events."""
        totals = DayTotals()
        if span.has_days:
            for blob in self.source.totals(*span.days):
                totals.merge(DayTotals(*decode(blob)))
        for day in raw.days.values():
            totals.merge(day)
        return totals

    def _links(self, span: Span, raw: RollupFold) -> list[tuple[str, str]]:
        """``(visitor id, user id)`` of the range, distinct, sorted."""
        found = {(v, u) for v, u, _ in raw.links}
        if span.has_days:
            found.update(self.source.links(*span.days))
        return sorted(found)

    def _visitor_rows(self, span: Span) -> Iterable[tuple[str, bytes]]:
        """``(visitor id, state)`` rows of the whole days, ordered by visitor id."""
        return self.source.visitor_rows(*span.days) if span.has_days else ()


def _by_visitor(states: Mapping[tuple[str, int], VisitorDay]) -> dict[str, VisitorDay]:
    """Day states merged per visitor."""
    found: dict[str, VisitorDay] = {}
    for (visitor_id, _), state in states.items():
        mine = found.get(visitor_id)
        if mine is None:
            found[visitor_id] = state
        else:
            mine.merge(state)
    return found


def _totals_dataset(totals: DayTotals, kinds: dict[str, str]) -> Dataset:
    """A dataset with ``totals`` and the goals' ``kinds``, no visitors yet."""
    return Dataset(
        visitors=[],
        events=totals.events,
        first_event=totals.first,
        last_event=totals.last,
        anonymous_events=totals.anonymous,
        anonymous_interactions=totals.plain,
        server_side_events=totals.server,
        server_side_users=len(totals.server_users),
        goal_kinds=kinds,
    )
