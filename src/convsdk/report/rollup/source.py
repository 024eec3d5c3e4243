"""What a report reads of a store's rollups, the same in every store but for the events.

A :class:`RollupSource` reads one snapshot of the rollup tables (:mod:`.schema`) and of
the events beside them: the states of whole days, the links, the conversions sharing a
transaction id. Each store tells how it runs a query, how its people stream in visitor
id order, which events the rollups do not hold (:meth:`RollupSource.raw`) and how the
snapshot ends (:mod:`.sqlite_source`, :mod:`.postgres_source`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Collection, Iterable, Iterator, Sequence
from typing import Any

from .fold import RollupFold
from .schema import RollupNames
from .span import Span

__all__ = ["RollupSource"]

# Visitor ids a query of :meth:`RollupSource.read_states` asks for (SQLite takes up to
# 32,766 parameters a statement).
_READ_AT_ONCE = 500


class RollupSource(ABC):
    """One read of a store's rollups; ``?`` in the queries becomes ``placeholder``."""

    def __init__(self, names: RollupNames, placeholder: str = "?") -> None:
        def query(text: str) -> str:
            return text.format(n=names).replace("?", placeholder)

        self.names = names
        self.placeholder = placeholder
        self.totals_query = query("SELECT state FROM {n.days} WHERE day >= ? AND day < ?")
        self.links_query = query(
            "SELECT visitor_id, user_id FROM {n.links} WHERE day >= ? AND day < ?"
        )
        self.shared_query = query(
            "SELECT goal, transaction_id, timestamp, event_id, kind FROM {n.transactions} "
            "WHERE shared AND day >= ? AND day < ?"
        )
        self.states_query = query(
            "SELECT state FROM {n.visitor_days} WHERE visitor_id = ? AND day >= ? AND day < ? "
            "ORDER BY day"
        )
        self.kept_query = query("SELECT spec, watermark, state FROM {n.counts} WHERE report = ?")
        self.definitions_query = query("SELECT definition FROM {n.counts} ORDER BY report")
        self.events_table = ""
        """The events table (quoted), which a store's source names."""
        self.read_ahead: tuple[int, int, dict[str, list[bytes]]] | None = None
        """The states of some visitors' days, read at once (:meth:`read_states`)."""

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
        (as Python orders text), then day: states merge in the order of their days,
        which every reading of a visitor keeps (amounts are summed in that order)."""

    @abstractmethod
    def close(self) -> None:
        """End the read (and its snapshot)."""

    @property
    @abstractmethod
    def watermark(self) -> str:
        """How far the rollups go, as text: another text, other rollups."""

    @abstractmethod
    def has_counts(self) -> bool:
        """Whether the rollups have their table of counts (rollups of an earlier version
        get it at the next ``convsdk rollup``)."""

    def kept(self, report: str) -> tuple[str, str, bytes] | None:
        """``(spec, watermark, state)`` of the counts kept of ``report`` (a definition's
        hash), if any."""
        if not self.has_counts():
            return None
        for spec, watermark, state in self.execute(self.kept_query, (report,)):
            return spec, watermark, bytes(state)
        return None

    def definitions(self) -> list[str]:
        """The definitions of the reports whose counts are kept."""
        if not self.has_counts():
            return []
        return [definition for (definition,) in self.execute(self.definitions_query, ())]

    def owners(self, keys: Collection[tuple[str, str]]) -> set[str]:
        """The visitor ids of the rolled-up conversions with these ``(goal, transaction
        id)`` (a few queries)."""
        found: set[str] = set()
        for chunk, pairs in self._pairs(keys):
            query = (
                f"SELECT e.visitor_id FROM {self.events_table} e "
                f"JOIN {self.names.transactions} t ON t.event_id = e.event_id "
                f"WHERE (t.goal, t.transaction_id) IN ({pairs}) AND e.visitor_id IS NOT NULL"
            )
            found.update(visitor_id for (visitor_id,) in self.execute(query, chunk))
        return found

    def _pairs(self, keys: Iterable[tuple[str, str]]) -> Iterator[tuple[list[str], str]]:
        """``keys`` a chunk at a time: their values, and the SQL of their list of pairs."""
        ordered = sorted(keys)
        for start in range(0, len(ordered), _READ_AT_ONCE):
            chunk = ordered[start : start + _READ_AT_ONCE]
            mark = self.placeholder
            pairs = ", ".join([f"({mark}, {mark})"] * len(chunk))
            yield [value for pair in chunk for value in pair], f"VALUES {pairs}"

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

    def alike(
        self, keys: Collection[tuple[str, str]], first: int, end: int
    ) -> dict[tuple[str, str], list[tuple[int, str, str]]]:
        """``(time, event id, kind)`` of the conversions of the days ``[first, end)`` with
        each of these ``(goal, transaction id)``, not marked as shared (a few queries)."""
        found: dict[tuple[str, str], list[tuple[int, str, str]]] = {key: [] for key in keys}
        for chunk, pairs in self._pairs(found):
            query = (
                f"SELECT goal, transaction_id, timestamp, event_id, kind "
                f"FROM {self.names.transactions} WHERE (goal, transaction_id) IN ({pairs}) "
                f"AND NOT shared AND day >= {self.placeholder} AND day < {self.placeholder}"
            )
            for goal, transaction, moment, event_id, kind in self.execute(
                query, (*chunk, first, end)
            ):
                found[goal, transaction].append((moment, event_id, kind))
        return found

    def states(self, visitor_id: str, first: int, end: int) -> Iterator[bytes]:
        """The stored states of one visitor's days ``[first, end)``, in day order."""
        ahead = self.read_ahead
        if ahead is not None and ahead[:2] == (first, end) and visitor_id in ahead[2]:
            yield from ahead[2][visitor_id]
            return
        for (blob,) in self.execute(self.states_query, (visitor_id, first, end)):
            yield blob

    def read_states(self, visitor_ids: Collection[str], first: int, end: int) -> None:
        """Read the states of the days ``[first, end)`` of ``visitor_ids`` at once, a few
        queries in all: :meth:`states` then answers for them without a query each."""
        found: dict[str, list[bytes]] = {visitor_id: [] for visitor_id in visitor_ids}
        ids = sorted(found)
        for start in range(0, len(ids), _READ_AT_ONCE):
            chunk = ids[start : start + _READ_AT_ONCE]
            marks = ", ".join([self.placeholder] * len(chunk))
            query = (
                f"SELECT visitor_id, state FROM {self.names.visitor_days} "
                f"WHERE visitor_id IN ({marks}) AND day >= {self.placeholder} "
                f"AND day < {self.placeholder} ORDER BY visitor_id, day"
            )
            for visitor_id, blob in self.execute(query, (*chunk, first, end)):
                found[visitor_id].append(bytes(blob))
        self.read_ahead = (first, end, found)
