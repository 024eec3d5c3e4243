"""What a report reads of a store's rollups, the same in every store but for the events.

A :class:`RollupSource` reads one snapshot of the rollup tables (:mod:`.schema`) and of
the events beside them: the states of whole days, the links, the conversions sharing a
transaction id. Each store tells how it runs a query, how its people stream in visitor
id order, which events the rollups do not hold (:meth:`RollupSource.raw`) and how the
snapshot ends (:mod:`.sqlite_source`, :mod:`.postgres_source`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from .fold import RollupFold
from .schema import RollupNames
from .span import Span

__all__ = ["RollupSource"]


class RollupSource(ABC):
    """One read of a store's rollups; ``?`` in the queries becomes ``placeholder``."""

    def __init__(self, names: RollupNames, placeholder: str = "?") -> None:
        def query(text: str) -> str:
            return text.format(n=names).replace("?", placeholder)

        self.names = names
        self.totals_query = query("SELECT state FROM {n.days} WHERE day >= ? AND day < ?")
        self.links_query = query(
            "SELECT visitor_id, user_id FROM {n.links} WHERE day >= ? AND day < ?"
        )
        self.shared_query = query(
            "SELECT goal, transaction_id, timestamp, event_id, kind FROM {n.transactions} "
            "WHERE shared AND day >= ? AND day < ?"
        )
        self.same_query = query(
            "SELECT timestamp, event_id, kind FROM {n.transactions} "
            "WHERE goal = ? AND transaction_id = ? AND NOT shared AND day >= ? AND day < ?"
        )
        self.states_query = query(
            "SELECT state FROM {n.visitor_days} WHERE visitor_id = ? AND day >= ? AND day < ?"
        )

    @abstractmethod
    def execute(self, query: str, params: Sequence[Any]) -> Iterable[Any]:
        """The rows of ``query``."""

    @abstractmethod
    def raw(self, span: Span) -> RollupFold:
        """The events of ``span`` the rollups do not hold, folded: those stored after the
        watermark, and the rolled-up ones of the partial days at the edges of the range."""

    @abstractmethod
    def visitor_rows(self, first: int, end: int) -> Iterable[tuple[str, bytes]]:
        """``(visitor id, state)`` of the days ``[first, end)``, ordered by visitor id
        (as Python orders text)."""

    @abstractmethod
    def close(self) -> None:
        """End the read (and its snapshot)."""

    def totals(self, first: int, end: int) -> Iterator[bytes]:
        """The stored totals of the days ``[first, end)``."""
        for (blob,) in self.execute(self.totals_query, (first, end)):
            yield blob

    def links(self, first: int, end: int) -> Iterable[tuple[str, str]]:
        """``(visitor id, user id)`` of the days ``[first, end)`` (repeats included)."""
        return self.execute(self.links_query, (first, end))

    def shared(self, first: int, end: int) -> Iterable[tuple[str, str, int, str, str]]:
        """``(goal, transaction id, time, event id, kind)`` of the conversions of the days
        ``[first, end)`` sharing their transaction id with another."""
        return self.execute(self.shared_query, (first, end))

    def same(self, goal: str, transaction: str, first: int, end: int) -> list[Any]:
        """``(time, event id, kind)`` of the conversions of the days ``[first, end)`` with
        this transaction id, not marked as shared."""
        return list(self.execute(self.same_query, (goal, transaction, first, end)))

    def states(self, visitor_id: str, first: int, end: int) -> Iterator[bytes]:
        """The stored states of one visitor's days ``[first, end)``."""
        for (blob,) in self.execute(self.states_query, (visitor_id, first, end)):
            yield blob
