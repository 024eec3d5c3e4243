"""What a rollup keeps of one visitor's events of one UTC day: a state that merges.

A :class:`VisitorDay` holds what the events *say* (the first event's referrer, URL,
user agent and UTM parameters, every UTM touch, every possible arrival, the earliest
variant, the conversions), never what the rules of :mod:`convsdk.report.rules` make of
them: those are applied when a report reads the state
(:mod:`convsdk.report.rollup.finish`), so that what counts, which goals are funnel
steps and where a converter's touches stop are the report's to decide.

Merging two states of the same visitor (two days, or a day and its late events) is
associative and commutative: first and earliest by time then event id, counts added,
lists joined. A state travels as a plain tuple (:meth:`VisitorDay.record`).

Times are microseconds since the epoch (UTC), as everywhere in the report.
"""

from __future__ import annotations

from bisect import insort
from typing import Any

from ..dataset import MAX_STEP_TIMES, NO_CURRENCY

__all__ = [
    "DAY",
    "Hits",
    "Order",
    "VisitorDay",
    "add_hit",
    "merge_goals",
]

#: A UTC day in microseconds: the rollups' unit of time.
DAY = 86_400_000_000

#: One goal's conversions without a transaction id: ``[count, first, last, kind, times,
#: revenue]``, ``times`` sorted (the first :data:`MAX_STEP_TIMES`), ``revenue`` per
#: currency or ``None`` when none carried a value.
Hits = list[Any]
#: A conversion carrying a transaction id, kept whole until the report knows which of a
#: transaction's conversions is the earliest: ``(goal, transaction id, time, event id,
#: kind, value, currency)``.
Order = tuple[str, str, int, str, str, float | None, str | None]


def add_hit(
    goals: dict[str, Hits],
    goal: str,
    moment: int,
    kind: str,
    value: float | None,
    currency: str | None,
) -> None:
    """Count one conversion of ``goal`` at ``moment`` into ``goals``."""
    hits = goals.get(goal)
    if hits is None:
        revenue = None if value is None else {currency or NO_CURRENCY: value}
        goals[goal] = [1, moment, moment, kind, [moment], revenue]
        return
    hits[0] += 1
    if moment < hits[1]:
        hits[1] = moment
    if moment > hits[2]:
        hits[2] = moment
    if kind < hits[3]:  # "macro" sorts before "micro": MIN(kind), as the SQL readers
        hits[3] = kind
    times = hits[4]
    if len(times) < MAX_STEP_TIMES:
        insort(times, moment)
    elif moment < times[-1]:
        insort(times, moment)
        times.pop()
    if value is not None:
        _add_money(hits, currency or NO_CURRENCY, value)


def merge_goals(goals: dict[str, Hits], other: dict[str, Hits]) -> None:
    """Add ``other``'s conversions to ``goals`` (each goal's hits merged)."""
    for goal, theirs in other.items():
        mine = goals.get(goal)
        if mine is None:
            goals[goal] = theirs
            continue
        mine[0] += theirs[0]
        mine[1] = min(mine[1], theirs[1])
        mine[2] = max(mine[2], theirs[2])
        mine[3] = min(mine[3], theirs[3])
        times = sorted(mine[4] + theirs[4])
        del times[MAX_STEP_TIMES:]
        mine[4] = times
        if theirs[5]:
            for currency, amount in theirs[5].items():
                _add_money(mine, currency, amount)


def _add_money(hits: Hits, currency: str, amount: float) -> None:
    revenue = hits[5]
    if revenue is None:
        hits[5] = {currency: amount}
    else:
        revenue[currency] = revenue.get(currency, 0.0) + amount


def _earlier(a: tuple[Any, ...] | None, b: tuple[Any, ...] | None) -> tuple[Any, ...] | None:
    """The one of two ``(time, event id, ...)`` that comes first; either may be ``None``."""
    if a is None:
        return b
    if b is None:
        return a
    return a if (a[0], a[1]) <= (b[0], b[1]) else b


def _joined(a: list[Any] | None, b: list[Any] | None) -> list[Any] | None:
    if not a:
        return b
    if not b:
        return a
    return a + b


class VisitorDay:
    """One visitor's events of one UTC day (or of any set of their events), merged."""

    __slots__ = (
        "arrivals",
        "first_id",
        "first_time",
        "goals",
        "landing",
        "orders",
        "referrer",
        "touches",
        "url",
        "user_agent",
        "variant",
    )

    def __init__(
        self,
        first_time: int,
        first_id: str,
        referrer: Any = None,
        url: Any = None,
        user_agent: Any = None,
        landing: Any = None,
        touches: list[tuple[int, str, dict[str, Any]]] | None = None,
        arrivals: list[tuple[int, Any, Any, Any]] | None = None,
        variant: tuple[int, str, Any] | None = None,
        goals: dict[str, Hits] | None = None,
        orders: list[Order] | None = None,
    ) -> None:
        # The first event: its time and id, and what the visitor's landing is made of.
        self.first_time = first_time
        self.first_id = first_id
        self.referrer = referrer
        self.url = url
        self.user_agent = user_agent
        self.landing = landing
        """The first event's ``context.utm`` when it is an object, else ``None``."""
        self.touches = touches
        """``(time, event id, context.utm)`` of every event with UTM parameters."""
        self.arrivals = arrivals
        """``(time, utm, referrer, url)`` of every event that may be an arrival."""
        self.variant = variant
        """``(time, event id, context.variant)`` of the earliest event carrying one."""
        self.goals: dict[str, Hits] = {} if goals is None else goals
        self.orders = orders

    def record(self) -> tuple[Any, ...]:
        """The state as a plain tuple; ``VisitorDay(*record)`` makes it again."""
        return (
            self.first_time,
            self.first_id,
            self.referrer,
            self.url,
            self.user_agent,
            self.landing,
            self.touches,
            self.arrivals,
            self.variant,
            self.goals,
            self.orders,
        )

    def merge(self, other: VisitorDay) -> None:
        """Take ``other``'s events in (``other`` is not to be used afterwards)."""
        if (other.first_time, other.first_id) < (self.first_time, self.first_id):
            self.first_time, self.first_id = other.first_time, other.first_id
            self.referrer, self.url = other.referrer, other.url
            self.user_agent, self.landing = other.user_agent, other.landing
        self.touches = _joined(self.touches, other.touches)
        self.arrivals = _joined(self.arrivals, other.arrivals)
        self.variant = _earlier(self.variant, other.variant)  # type: ignore[assignment]
        merge_goals(self.goals, other.goals)
        self.orders = _joined(self.orders, other.orders)

    def see(self, moment: int, event_id: str, context: dict[str, Any]) -> None:
        """Make the event at ``moment`` the first one if it comes before."""
        if (moment, event_id) < (self.first_time, self.first_id):
            self.first_time, self.first_id = moment, event_id
            self.referrer, self.url = context.get("referrer"), context.get("url")
            self.user_agent = context.get("user_agent")
            utm = context.get("utm")
            self.landing = utm if type(utm) is dict else None
