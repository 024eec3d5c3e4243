"""A SQLite store's rollups read in one read transaction (see :mod:`.source`)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from typing import Any

from .fold import COLUMNS, RollupFold
from .source import RollupSource
from .span import Span
from .sqlite_schema import NAMES, Watermark

__all__ = ["SQLiteRollups"]

# The share of the rolled-up days a range may span and still be read through the day
# index (then sorted by visitor); a wider one is read in the table's own order.
_NARROW = 0.25


class SQLiteRollups(RollupSource):
    """The rollups of ``mark`` through ``conn``, a read transaction it closes."""

    def __init__(self, conn: sqlite3.Connection, mark: Watermark) -> None:
        super().__init__(NAMES)
        self.conn = conn
        self.mark = mark
        self.table = self.events_table = f'"{mark.table}"'

    @property
    def watermark(self) -> str:
        """The watermark as text: the table, the rowid, its event and when."""
        return self.mark.text

    def has_counts(self) -> bool:
        """Whether the database has the table of counts."""
        found = self.conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (NAMES.counts,)
        ).fetchone()
        return found is not None

    def execute(self, query: str, params: Sequence[Any]) -> Iterable[Any]:
        """The rows of ``query``."""
        return self.conn.execute(query, params)

    def raw(self, span: Span) -> RollupFold:
        """The events after the watermark's rowid, and the rolled-up ones of the edges."""
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

    def visitor_rows(self, first: int, end: int) -> Iterable[tuple[str, bytes]]:
        """The states of the days, in visitor id order (SQLite compares text by bytes),
        then day order."""
        low, high = self.conn.execute(f"SELECT MIN(day), MAX(day) FROM {NAMES.days}").fetchone()
        narrow = low is not None and min(end, high + 1) - max(first, low) <= _NARROW * (
            high + 1 - low
        )
        # Narrow: through the day index, then sorted. Wide: the table in its own order
        # (the visitor id's), the unary + keeping SQLite off the day index.
        day = "day" if narrow else "+day"
        query = (
            f"SELECT visitor_id, state FROM {NAMES.visitor_days} "
            f"WHERE {day} >= ? AND {day} < ? ORDER BY visitor_id, day"
        )
        return self.conn.execute(query, (first, end))  # type: ignore[return-value]

    def close(self) -> None:
        """Close the connection (and its transaction)."""
        self.conn.close()
