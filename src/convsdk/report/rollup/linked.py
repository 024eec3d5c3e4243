"""Visitor ids linked to user ids, made people before the other visitors stream by.

Whether a visitor id is one of a person's (and where their touches stop: at the
person's first macro conversion, on any device) depends on the others: the reader
gathers these few visitors first, with every day of theirs in the range, and merges
them as every reader does (:mod:`convsdk.report.people`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

from ..dataset import GoalHits, VisitorSummary
from ..people import groups, kept_links, merge_summaries, person_macro_times
from .agents import BotCheck
from .finish import Finisher
from .schema import decode
from .span import Span
from .state import VisitorDay

if TYPE_CHECKING:
    from .source import RollupSource

__all__ = ["LinkedPeople", "linked_people", "visitor_states"]

#: (people, the links of the visitors kept, visitors left out as bots)
LinkedPeople = tuple[list[VisitorSummary], list[tuple[str, str]], int]


def linked_people(
    source: RollupSource | None,
    span: Span,
    links: list[tuple[str, str]],
    raw: dict[str, VisitorDay],
    finisher: Finisher,
    bots: BotCheck,
) -> LinkedPeople:
    """The people the visitor ids of ``links`` make, from their rolled-up days of
    ``span`` (read from ``source``) and their states in ``raw``."""
    states = dict(visitor_states(source, span, sorted({v for v, _ in links}), raw))
    goals: dict[str, dict[str, GoalHits]] = {
        v: finisher.goals(state.goals, state.orders) for v, state in states.items()
    }
    left_out = {v for v, s in states.items() if bots.left_out(s.user_agent)}
    kept = [v for v in states if v not in left_out]
    macro = person_macro_times(
        ((v, at) for v, hits in goals.items() if (at := finisher.limit(hits)) is not None),
        links,
        set(kept),
    )
    summaries = {v: finisher.summary(states[v], goals[v], macro.get(v), linked=True) for v in kept}
    pairs = kept_links(links, summaries)
    found = groups(pairs)
    grouped = {v for ids in found for v in ids}
    people = [summary for v, summary in summaries.items() if v not in grouped]
    people.extend(merge_summaries([(v, summaries[v]) for v in ids]) for ids in found)
    return people, pairs, len(left_out)


def visitor_states(
    source: RollupSource | None, span: Span, ids: Iterable[str], raw: dict[str, VisitorDay]
) -> Iterator[tuple[str, VisitorDay]]:
    """Each visitor id's state: their rolled-up days of ``span`` and their raw state
    (a visitor id with neither is left out)."""
    first, end = span.days
    for visitor_id in ids:
        # Day by day, then the raw state: amounts are summed in the order the people's
        # stream sums them (merged_states), to the last bit.
        state: VisitorDay | None = None
        if source is not None and span.has_days:
            for blob in source.states(visitor_id, first, end):
                stored = VisitorDay(*decode(blob))
                if state is None:
                    state = stored
                else:
                    state.merge(stored)
        later = raw.get(visitor_id)
        if later is not None:
            if state is None:
                state = later
            else:
                state.merge(later)
        if state is not None:  # always for a link: it comes from an event of the range
            yield visitor_id, state
