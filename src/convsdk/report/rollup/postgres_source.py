"""A PostgreSQL store's rollups read in one repeatable-read transaction (see :mod:`.source`).

The events the rollups do not hold are those whose transaction the watermark's snapshot
does not see: ``xid >= pg_snapshot_xmin(snapshot)`` finds them through the index on
``xid``, ``NOT pg_visible_in_snapshot(xid, snapshot)`` picks them out.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from ..sql.ahead import ReadAhead
from .postgres_fold import COLUMNS, PostgresFold
from .postgres_schema import Mark, quoted
from .schema import RollupNames
from .source import RollupSource
from .span import Span

if TYPE_CHECKING:
    import psycopg

__all__ = ["PostgresRollups"]

#: Rows a server-side cursor fetches at a time.
_ITERSIZE = 2000
_NEWER = (
    "xid >= pg_snapshot_xmin(%s::pg_snapshot) AND NOT pg_visible_in_snapshot(xid, %s::pg_snapshot)"
)


class PostgresRollups(RollupSource):
    """The rollups of ``mark`` through ``conn``, in a transaction it ends."""

    def __init__(
        self, conn: psycopg.Connection[Any], mark: Mark, names: RollupNames, table: str
    ) -> None:
        super().__init__(names, "%s")
        self.conn = conn
        self.mark = mark
        self.table = self.events_table = quoted(table)
        self.reading = ReadAhead()  # the people's cursor

    @property
    def watermark(self) -> str:
        """The watermark as text: the snapshot rolled up, and when."""
        return self.mark.text

    def has_counts(self) -> bool:
        """Whether the schema has the table of counts (a failed query would end the
        transaction)."""
        row = self.conn.execute("SELECT to_regclass(%s) IS NOT NULL", (self.names.counts,))
        found = row.fetchone()
        return bool(found and found[0])

    def execute(self, query: str, params: Sequence[Any]) -> Iterable[Any]:
        """The rows of ``query``."""
        return self.conn.execute(query, params)

    def raw(self, span: Span) -> PostgresFold:
        """The events stored since the watermark's snapshot, and the rolled-up ones of the
        edges."""
        fold = PostgresFold()
        snapshot = self.mark.snapshot
        clauses, params = _range(span.since, span.until)
        tail = f"SELECT {COLUMNS} FROM {self.table} WHERE {_NEWER}{clauses}"
        fold.rows(self.conn.execute(tail, [snapshot, snapshot, *params]))
        for low, high in span.edges():
            clauses, params = _range(low, high)
            edge = (
                f"SELECT {COLUMNS} FROM {self.table} "
                f"WHERE (xid IS NULL OR pg_visible_in_snapshot(xid, %s::pg_snapshot)){clauses}"
            )
            fold.rows(self.conn.execute(edge, [snapshot, *params]))
        return fold

    def visitor_rows(self, first: int, end: int) -> Iterator[tuple[str, bytes]]:
        """The states of the days, in visitor id order (the column sorts as Python), then
        day order."""
        with self.reading.held(self.conn.cursor(name="convsdk_rollup_people")) as cursor:
            cursor.execute(
                f"SELECT visitor_id, state FROM {self.names.visitor_days} "
                "WHERE day >= %s AND day < %s ORDER BY visitor_id, day",
                (first, end),
            )
            yield from self.reading.rows(cursor, _ITERSIZE, "rollup-people")

    def close(self) -> None:
        """Stop fetching, close the cursors, then the connection (its transaction ends
        with it)."""
        self.reading.close()
        self.conn.close()


def _range(low: object, high: object) -> tuple[str, list[object]]:
    """`` AND`` the conditions of a range of timestamps (``None``: no bound), and their
    parameters."""
    clauses, params = "", []
    if low is not None:
        clauses += " AND timestamp >= %s::timestamptz"
        params.append(low)
    if high is not None:
        clauses += " AND timestamp < %s::timestamptz"
        params.append(high)
    return clauses, params
