"""A visitor's merged state made a :class:`~convsdk.report.dataset.VisitorSummary`, by
the rules every reader follows (:mod:`convsdk.report.rules`), as the SQLite reader
applies them to the same events."""

from __future__ import annotations

import operator
from collections.abc import Collection, Mapping
from typing import Any

from ..dataset import MAX_STEP_TIMES, UTM, GoalHits, VisitorSummary
from ..rules import add_conversion, device, first_macro, utm_of, variant_text
from .landing import campaign, landing, touch
from .state import Hits, Order, VisitorDay
from .transactions import Transactions

__all__ = ["Finisher"]

_ORDER = operator.itemgetter(0, 1)  # (time, event id): never the UTM dict


class Finisher:
    """Makes summaries of states, for a report's funnel steps, goal kinds and
    transactions."""

    __slots__ = ("kinds", "steps", "transactions")

    def __init__(
        self, step_goals: Collection[str], kinds: Mapping[str, str], transactions: Transactions
    ) -> None:
        """``kinds``: every goal's kind for the report (the goal file's over the stored)."""
        self.steps = frozenset(step_goals)
        self.kinds = dict(kinds)
        self.transactions = transactions

    def goals(self, hits: Mapping[str, Hits], orders: list[Order] | None) -> dict[str, GoalHits]:
        """The conversions of ``hits`` and those of ``orders`` that count, per goal."""
        steps = self.steps
        goals: dict[str, GoalHits] = {}
        for goal, (count, first, last, _, times, revenue) in hits.items():
            step = goal in steps
            goals[goal] = GoalHits(
                count, first, last, times if step else None, step and count > MAX_STEP_TIMES,
                revenue or None,
            )  # fmt: skip
        if orders:
            counts = self.transactions.counts
            for goal, transaction, moment, event_id, _, value, currency in orders:
                if counts(goal, transaction, moment, event_id):
                    add_conversion(goals, goal, moment, value, currency, goal in steps)
        return goals

    def person(self, state: VisitorDay) -> VisitorSummary:
        """The summary of a visitor id linked to no other: the conversions that count,
        the touches up to the first macro conversion."""
        goals = self.goals(state.goals, state.orders)
        return self.summary(state, goals, self.limit(goals))

    def limit(self, goals: dict[str, GoalHits]) -> int | None:
        """When the visitor of ``goals`` first converted on a macro goal; ``None`` if never."""
        return first_macro(goals, self.kinds) if goals else None

    def summary(
        self,
        state: VisitorDay,
        goals: dict[str, GoalHits],
        limit: int | None,
        linked: bool = False,
    ) -> VisitorSummary:
        """The summary of ``state`` whose conversions are ``goals``; its touches and
        arrivals up to ``limit`` (their person's first macro conversion); ``linked``:
        the visitor id is linked to a user id (the touches' times are kept)."""
        referrer, url, utm = state.referrer, state.url, state.landing
        domain, page, came, _ = landing(referrer, url)
        summary = VisitorSummary(
            first_seen=state.first_time,
            referrer=domain,
            landing_page=page,
            device=device(state.user_agent),
            arrival=campaign(utm) if utm and utm.get("source") else came,
            goals=goals,
        )
        if state.touches:
            _touches(summary, state.touches, limit, linked)
        if limit is not None and state.arrivals:
            summary.touchpoints = _touchpoints(state.arrivals, limit)
        if state.variant is not None:
            summary.variant = variant_text(state.variant[2])
            summary.exposed = state.variant[0]
        return summary


def _touches(
    summary: VisitorSummary, touches: list[tuple[int, str, Any]], limit: int | None, linked: bool
) -> None:
    """Set the first and last touch of those up to ``limit``."""
    if limit is not None:
        touches = [touch for touch in touches if touch[0] <= limit]
        if not touches:
            return
    first = min(touches, key=_ORDER)
    last = max(touches, key=_ORDER)
    summary.first_touch = utm_of(first[2])
    summary.last_touch = utm_of(last[2])
    if linked:
        summary.touch_times = (first[0], last[0])


def _touchpoints(
    arrivals: list[tuple[int, Any, Any, Any]], limit: int
) -> list[tuple[int, UTM]] | None:
    """A converter's arrivals up to ``limit``, oldest first."""
    found = []
    for moment, utm, referrer, url in arrivals:
        if moment <= limit:
            found_touch = touch(utm, referrer, url)
            if found_touch is not None:
                found.append((moment, found_touch))
    found.sort()
    return found or None
