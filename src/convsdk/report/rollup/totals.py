"""What a rollup keeps of a UTC day's events as a whole: counts, and the anonymous ones.

A :class:`DayTotals` merges like a :class:`~convsdk.report.rollup.state.VisitorDay`:
counts added, first and last by time, sets joined. Besides the totals a report shows
(events, first and last, the events without a visitor and their distinct server-side
user ids, their conversions), it keeps the kind of every goal seen, because the report
needs every goal's kind before it reads its first visitor (a converter's touches stop
at their first *macro* conversion): ``kinds`` for the conversions without a transaction
id, ``order_kinds`` counting those with one by kind, since which of a repeated
transaction's conversions counts is known only over the report's range.
"""

from __future__ import annotations

from typing import Any

from .state import Hits, Order, merge_goals

__all__ = ["DayTotals"]


class DayTotals:
    """The totals of a day's events (or of any set of events)."""

    __slots__ = (
        "anonymous",
        "events",
        "first",
        "goals",
        "kinds",
        "last",
        "order_kinds",
        "orders",
        "plain",
        "server",
        "server_users",
    )

    def __init__(
        self,
        events: int = 0,
        first: int | None = None,
        last: int | None = None,
        anonymous: int = 0,
        plain: int = 0,
        server: int = 0,
        server_users: list[str] | None = None,
        goals: dict[str, Hits] | None = None,
        orders: list[Order] | None = None,
        kinds: dict[str, str] | None = None,
        order_kinds: dict[str, dict[str, int]] | None = None,
    ) -> None:
        self.events = events
        self.first = first
        self.last = last
        self.anonymous = anonymous
        """Events without a visitor id."""
        self.plain = plain
        """Of those, plain interactions (no ``kind``)."""
        self.server = server
        """Of those, the ones tracked outside a request (an empty context)."""
        self.server_users = set(server_users or ())
        """Their distinct user ids."""
        self.goals: dict[str, Hits] = {} if goals is None else goals
        """Conversions without a visitor nor a transaction id, per goal."""
        self.orders: list[Order] = [] if orders is None else orders
        """Conversions without a visitor, with a transaction id."""
        self.kinds: dict[str, str] = {} if kinds is None else kinds
        """Goal to kind (``"macro"`` if any said so) of conversions without a transaction id."""
        self.order_kinds: dict[str, dict[str, int]] = {} if order_kinds is None else order_kinds
        """Goal to kind to count of the conversions with a transaction id."""

    def record(self) -> tuple[Any, ...]:
        """The totals as a plain tuple; ``DayTotals(*record)`` makes them again."""
        return (
            self.events,
            self.first,
            self.last,
            self.anonymous,
            self.plain,
            self.server,
            sorted(self.server_users),
            self.goals,
            self.orders,
            self.kinds,
            self.order_kinds,
        )

    def event(self, moment: int) -> None:
        """Count one event at ``moment``."""
        self.events += 1
        if self.first is None or moment < self.first:
            self.first = moment
        if self.last is None or moment > self.last:
            self.last = moment

    def kind(self, goal: str, kind: str, order: bool) -> None:
        """Note a conversion of ``goal`` of ``kind``; ``order``: it has a transaction id."""
        if order:
            counts = self.order_kinds.setdefault(goal, {})
            counts[kind] = counts.get(kind, 0) + 1
            return
        known = self.kinds.get(goal)
        if known is None or kind < known:
            self.kinds[goal] = kind

    def merge(self, other: DayTotals) -> None:
        """Take ``other``'s counts in (``other`` is not to be used afterwards)."""
        self.events += other.events
        for moment in (other.first, other.last):
            if moment is not None:
                if self.first is None or moment < self.first:
                    self.first = moment
                if self.last is None or moment > self.last:
                    self.last = moment
        self.anonymous += other.anonymous
        self.plain += other.plain
        self.server += other.server
        self.server_users |= other.server_users
        merge_goals(self.goals, other.goals)
        self.orders.extend(other.orders)
        for goal, kind in other.kinds.items():
            self.kind(goal, kind, order=False)
        for goal, counts in other.order_kinds.items():
            mine = self.order_kinds.setdefault(goal, {})
            for kind, count in counts.items():
                mine[kind] = mine.get(kind, 0) + count
