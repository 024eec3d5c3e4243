"""A report's dataset put together from rollups and the events they do not hold.

In order: the events read raw (after the watermark, and the partial days at the edges
of the range) folded as the rollups fold them; the day totals; the repeated
transactions (which conversion counts); every goal's kind; the visitor ids linked to
user ids, made people; then the stream of the other visitors, in visitor id order.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Any

from ..dataset import Dataset, VisitorStream
from ..progress import ProgressCallback, report_progress
from .finish import Finisher
from .fold import COLUMNS, RollupFold
from .linked import linked_people
from .schema import Watermark, decode
from .span import Span
from .state import VisitorDay
from .stream import merged_states, people
from .totals import DayTotals
from .transactions import settle_transactions

__all__ = ["Assembly"]

_PHASES = 3  # events after the watermark, totals and people linked, the stream
# The share of the rolled-up days a range may span and still be read through the day
# index (then sorted by visitor); a wider one is read in the table's own order.
_NARROW = 0.25


class Assembly:
    """Reads one report's dataset through one read transaction of ``conn``."""

    def __init__(
        self,
        conn: sqlite3.Connection,
        mark: Watermark,
        step_goals: Collection[str],
        goal_kinds: Mapping[str, str],
        include_bots: bool,
        progress: ProgressCallback | None,
    ) -> None:
        self.conn = conn
        self.mark = mark
        self.table = f'"{mark.table}"'
        self.step_goals = step_goals
        self.goal_kinds = goal_kinds
        self.include_bots = include_bots
        self.progress = progress

    def dataset(self, since: datetime | None, until: datetime | None) -> Dataset:
        """The dataset of ``[since, until)``; its people stream from the open
        transaction, which closes once they have all been read."""
        span = Span(since, until)
        report_progress(self.progress, "reading new events", 0, _PHASES)
        raw = self._raw(span)
        report_progress(self.progress, "reading rollups", 1, _PHASES)
        totals = self._totals(span, raw)
        transactions = settle_transactions(self.conn, span, raw.transactions)
        kinds = dict(totals.kinds)
        for goal, kind in transactions.kinds(totals.order_kinds).items():
            if goal not in kinds or kind < kinds[goal]:
                kinds[goal] = kind
        finisher = Finisher(self.step_goals, {**kinds, **self.goal_kinds}, transactions)
        dataset = _totals_dataset(totals, kinds)
        dataset.anonymous_goals = finisher.goals(totals.goals, totals.orders)
        states = _by_visitor(raw.visitors)
        links = self._links(span, raw)
        linked, dataset.links, dataset.bot_visitors = linked_people(
            self.conn, span, links, states, finisher, self.include_bots
        )
        report_progress(self.progress, "reading rollups", 2, _PHASES)
        rows = self._visitor_rows(span)
        merged = merged_states(rows, states, {v for v, _ in links})
        dataset.visitors = VisitorStream(
            people(merged, finisher, dataset, self.include_bots, linked, self.conn.close)
        )
        return dataset

    def _raw(self, span: Span) -> RollupFold:
        """The events the rollups do not hold, folded: those after the watermark, and
        the rolled-up ones of the partial days at the edges of the range."""
        fold = RollupFold()
        tail = (
            f"SELECT {COLUMNS} FROM {self.table} WHERE rowid > ? AND {span.condition('+timestamp')}"
        )
        fold.rows(self.conn.execute(tail, [self.mark.rowid, *span.bounds()]))
        for low, high in span.edges():
            clauses = ["rowid <= ?"]
            params: list[Any] = [self.mark.rowid]
            if low is not None:
                clauses.append("timestamp >= ?")
                params.append(low)
            if high is not None:
                clauses.append("timestamp < ?")
                params.append(high)
            edge = f"SELECT {COLUMNS} FROM {self.table} WHERE {' AND '.join(clauses)}"
            fold.rows(self.conn.execute(edge, params))
        return fold

    def _totals(self, span: Span, raw: RollupFold) -> DayTotals:
        """The totals of the whole days and of the raw events."""
        totals = DayTotals()
        if span.has_days:
            query = "SELECT state FROM convsdk_rollup_days WHERE day >= ? AND day < ?"
            for (blob,) in self.conn.execute(query, span.days):
                totals.merge(DayTotals(*decode(blob)))
        for day in raw.days.values():
            totals.merge(day)
        return totals

    def _links(self, span: Span, raw: RollupFold) -> list[tuple[str, str]]:
        """``(visitor id, user id)`` of the range, distinct, sorted."""
        found = {(v, u) for v, u, _ in raw.links}
        if span.has_days:
            query = (
                "SELECT visitor_id, user_id FROM convsdk_rollup_links WHERE day >= ? AND day < ?"
            )
            found.update(self.conn.execute(query, span.days))
        return sorted(found)

    def _visitor_rows(self, span: Span) -> Any:
        """``(visitor id, state)`` rows of the whole days, ordered by visitor id."""
        if not span.has_days:
            return iter(())
        first, end = span.days
        low, high = self.conn.execute(
            "SELECT MIN(day), MAX(day) FROM convsdk_rollup_days"
        ).fetchone()
        narrow = low is not None and min(end, high + 1) - max(first, low) <= _NARROW * (
            high + 1 - low
        )
        # Narrow: through the day index, then sorted. Wide: the table in its own order
        # (the visitor id's), the unary + keeping SQLite off the day index.
        day = "day" if narrow else "+day"
        query = (
            f"SELECT visitor_id, state FROM convsdk_rollup_visitor_days "
            f"WHERE {day} >= ? AND {day} < ? ORDER BY visitor_id"
        )
        return self.conn.execute(query, (first, end))


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
