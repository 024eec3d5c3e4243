"""The people of a report read from rollups, one at a time, in visitor id order.

The rollup rows of the range come ordered by visitor id (the table's key): the day
states of one visitor follow each other and merge into one, and the states built from
events read raw (kept in memory, sorted) join them on the way.
"""

from __future__ import annotations

from collections.abc import Callable, Container, Iterable, Iterator

from ..dataset import Dataset, VisitorSummary
from .agents import BotCheck
from .finish import Finisher
from .schema import decode
from .state import VisitorDay

__all__ = ["merged_states", "people"]


def merged_states(
    rows: Iterable[tuple[str, bytes]], raw: dict[str, VisitorDay], skip: Container[str]
) -> Iterator[tuple[str, VisitorDay]]:
    """``(visitor id, state)`` of every visitor of ``rows`` (``(visitor id, stored
    state)`` ordered by visitor id) and of ``raw``, merged, in visitor id order; those
    in ``skip`` are left out (and not decoded)."""
    pending = sorted(raw)
    at = 0
    current: str | None = None
    state: VisitorDay | None = None
    for visitor_id, blob in rows:
        if visitor_id == current:
            if state is not None:
                state.merge(VisitorDay(*decode(blob)))
            continue
        if state is not None and current is not None:
            yield current, _with_raw(state, raw.get(current))
        while at < len(pending) and pending[at] < visitor_id:
            if pending[at] not in skip:
                yield pending[at], raw[pending[at]]
            at += 1
        if at < len(pending) and pending[at] == visitor_id:
            at += 1
        current = visitor_id
        state = None if visitor_id in skip else VisitorDay(*decode(blob))
    if state is not None and current is not None:
        yield current, _with_raw(state, raw.get(current))
    for visitor_id in pending[at:]:
        if visitor_id not in skip:
            yield visitor_id, raw[visitor_id]


def _with_raw(state: VisitorDay, raw: VisitorDay | None) -> VisitorDay:
    if raw is not None:
        state.merge(raw)
    return state


def people(
    states: Iterable[tuple[str, VisitorDay]],
    finisher: Finisher,
    dataset: Dataset,
    bots: BotCheck,
    last: Iterable[VisitorSummary],
    close: Callable[[], None],
) -> Iterator[VisitorSummary]:
    """Each of ``states`` as a summary (those ``bots`` leaves out counted in
    ``dataset.bot_visitors`` instead), then ``last``; ``close`` once done."""
    try:
        for _, state in states:
            if bots.left_out(state.user_agent):
                dataset.bot_visitors += 1
                continue
            yield finisher.person(state)
        yield from last
    finally:
        close()
