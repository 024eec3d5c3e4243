"""``convsdk rollup postgresql://...``: bring a PostgreSQL store's rollups up to date.

One run is one repeatable-read transaction, behind a lock that keeps other runs of the
same table waiting (a session advisory lock, taken before the transaction starts, so
that its snapshot sees what the run before wrote). In it: the snapshot
(``pg_current_snapshot()``), the rows whose transaction is visible in it but was not in
the last run's (``pg_visible_in_snapshot``), streamed through a server-side cursor and
folded a batch at a time into the stored states, and the snapshot stored as the new
watermark. A transaction still open at one run is in neither snapshot's past: its rows
are taken by the first run after it commits, however long it stayed open, which a
watermark by largest id (of a sequence, or of the transactions) would lose. The
tracker may keep writing all along.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ...errors import BackendError
from ..sql import PostgresReader
from .merge import day_rows, visitor_rows
from .postgres_fold import COLUMNS, PostgresFold
from .postgres_schema import (
    Mark,
    postgres_names,
    quoted,
    read_mark,
    schema_statements,
    stale_reason,
    table_identity,
    write_mark,
)
from .result import RollupResult
from .schema import FORMAT, RollupNames

if TYPE_CHECKING:
    import psycopg

__all__ = ["keep_postgres", "roll_up_postgres"]

#: The rows of the events stored since ``%s`` (the last run's snapshot) and visible in
#: the run's own, ``%s``; the first bound lets the index on xid find them.
_SINCE = (
    "SELECT {columns} FROM {table} WHERE xid >= pg_snapshot_xmin(%s::pg_snapshot) "
    "AND NOT pg_visible_in_snapshot(xid, %s::pg_snapshot) "
    "AND pg_visible_in_snapshot(xid, %s::pg_snapshot)"
)
_LOST = "the xid column had lost its default (a copied table): rows may lack it"
#: Every row visible in the run's snapshot (``%s``): a first run, or a rebuild. A null
#: xid is a row stored before the column had its default, before this run.
_ALL = (
    "SELECT {columns} FROM {table} "
    "WHERE xid IS NULL OR pg_visible_in_snapshot(xid, %s::pg_snapshot)"
)


def roll_up_postgres(url: str, *, rebuild: bool, batch: int) -> RollupResult:
    """Bring the rollups of the PostgreSQL store at ``url`` up to date (see
    :func:`~convsdk.report.rollup.roll_up`)."""
    import psycopg

    reader = PostgresReader.from_url(url)
    names = postgres_names(reader.table, reader.source)
    started = time.perf_counter()
    conn = reader.connect()
    try:
        conn.autocommit = True
        lost = _prepare(conn, reader.table, names)
        run = _Run(conn, reader.table, names, batch)
        with _locked(conn, names):
            conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
            with conn.transaction():
                run.go(rebuild, lost)
        if run.events:
            # Fresh statistics for the planner: without them a report's lookups of some
            # visitors' days scan the whole table (autovacuum analyzes it later).
            for table in (names.visitor_days, names.days, names.transactions, names.links):
                conn.execute(f"ANALYZE {table}")
    except psycopg.Error as exc:
        raise BackendError(
            f"cannot roll up {reader.table}: {str(exc).strip()}", backend=reader.source
        ) from exc
    finally:
        conn.close()
    seconds = time.perf_counter() - started
    mark = run.mark
    assert mark is not None
    upto = f"snapshot {mark.snapshot}"
    done = (run.events, run.keys, len(run.days), seconds, run.why, mark, upto)
    return RollupResult(*done, run.previous)


def keep_postgres(url: str, kept: Sequence[str | bytes], *, only: bool = False) -> None:
    """Keep a report's counts beside the rollups of the PostgreSQL store at ``url``:
    ``kept`` is the row of the table of counts (see :mod:`.counted`); ``only``: forget
    the others."""
    import psycopg

    reader = PostgresReader.from_url(url)
    names = postgres_names(reader.table, reader.source)
    conn = reader.connect()
    try:
        conn.autocommit = True
        with conn.transaction():
            for statement in schema_statements(names, reader.table):
                conn.execute(statement)
            if only:
                conn.execute(f"DELETE FROM {names.counts} WHERE report <> %s", (kept[0],))
            conn.execute(
                f"INSERT INTO {names.counts} VALUES (%s, %s, %s, %s, %s) ON CONFLICT (report) "
                "DO UPDATE SET definition = EXCLUDED.definition, spec = EXCLUDED.spec, "
                "watermark = EXCLUDED.watermark, state = EXCLUDED.state",
                kept,
            )
    except psycopg.Error as exc:
        raise BackendError(
            f"cannot keep counts beside {reader.table}: {str(exc).strip()}",
            backend=reader.source,
        ) from exc
    finally:
        conn.close()


def _prepare(conn: psycopg.Connection[Any], table: str, names: RollupNames) -> bool:
    """Give the events table its xid column and index, and make the rollup tables;
    return whether the column had lost its default (see
    :func:`~convsdk.backends.postgres.schema.add_xid`)."""
    from ...backends.postgres.schema import add_xid

    lost = add_xid(conn, tuple(table.split(".")))
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [_lock_key(names)])
        for statement in schema_statements(names, table):
            conn.execute(statement)
    return lost


def _lock_key(names: RollupNames) -> str:
    return f"convsdk.rollup:{names.watermark}"


@contextmanager
def _locked(conn: psycopg.Connection[Any], names: RollupNames) -> Iterator[None]:
    """Hold the table's rollup lock (a session advisory lock) while in the block."""
    key = _lock_key(names)
    conn.execute("SELECT pg_advisory_lock(hashtext(%s))", [key])
    try:
        yield
    finally:
        if not conn.broken:
            conn.execute("SELECT pg_advisory_unlock(hashtext(%s))", [key])


class _Run:
    """One run, in the open transaction: what it read and wrote."""

    def __init__(
        self, conn: psycopg.Connection[Any], table: str, names: RollupNames, batch: int
    ) -> None:
        self.conn = conn
        self.table = table
        self.names = names
        self.batch = batch
        self.events = self.keys = 0
        self.days: set[int] = set()
        self.why: str | None = None
        self.mark: Mark | None = None
        self.previous: str | None = None

    def go(self, rebuild: bool, lost: bool) -> None:
        """Fold what the last run's snapshot did not see, store the new snapshot;
        ``rebuild``: the rollups are made again from nothing; ``lost``: the xid column
        had lost its default."""
        row = self.conn.execute("SELECT pg_current_snapshot()::text").fetchone()
        assert row is not None
        snapshot: str = row[0]
        last = read_mark(self.conn, self.names)
        if last is not None:
            stale = stale_reason(self.conn, last, self.table)
            self.why = "asked" if rebuild else stale or (_LOST if lost else None)
        if self.why is not None:
            # DELETE, not TRUNCATE: a report reading the rollups meanwhile keeps its
            # snapshot of them (TRUNCATE would wait for it, and empty them under it).
            for table in self.names.all():
                self.conn.execute(f"DELETE FROM {table}")
            last = None
        self.previous = None if last is None else last.text
        columns, table = COLUMNS, quoted(self.table)
        if last is None:
            query, params = _ALL.format(columns=columns, table=table), [snapshot]
        else:
            query = _SINCE.format(columns=columns, table=table)
            params = [last.snapshot, last.snapshot, snapshot]
        probe = (None, None) if last is None else (last.probe_id, last.probe_xid)
        with self.conn.cursor(name="convsdk_rollup") as cursor:
            cursor.itersize = self.batch
            cursor.execute(query, params)
            while rows := cursor.fetchmany(self.batch):
                fold = PostgresFold()
                try:
                    self.events += fold.rows(rows)
                except (ValueError, TypeError) as exc:
                    raise BackendError(
                        f"cannot roll up the event {fold.last_event_id}: {exc}",
                        backend=self.table,
                    ) from exc
                self._store(fold)
                probe = (fold.last_event_id, fold.last_rowid)
        oid, filenode = table_identity(self.conn, self.table)
        total = self.events + (0 if last is None else last.events)
        now = datetime.now(UTC).isoformat(timespec="seconds")
        self.mark = Mark(self.table, oid, filenode, snapshot, *probe, total, FORMAT, now)
        write_mark(self.conn, self.names, self.mark)

    def _store(self, fold: PostgresFold) -> None:
        """Merge a batch's states into the stored ones."""
        names, conn = self.names, self.conn
        keys = list(fold.visitors)
        found = {
            (v, d): bytes(s)
            for v, d, s in conn.execute(
                f"SELECT r.visitor_id, r.day, r.state FROM {names.visitor_days} r "
                "JOIN unnest(%s::text[], %s::integer[]) k (visitor_id, day) "
                "USING (visitor_id, day)",
                [[v for v, _ in keys], [d for _, d in keys]],
            )
        }
        rows = visitor_rows(fold, found.get)
        if found:
            conn.execute(
                f"DELETE FROM {names.visitor_days} WHERE (visitor_id, day) IN "
                "(SELECT * FROM unnest(%s::text[], %s::integer[]))",
                [[v for v, _ in found], [d for _, d in found]],
            )
        _copy(conn, f"{names.visitor_days} (visitor_id, day, state)", rows)
        stored = {
            d: bytes(s)
            for d, s in conn.execute(
                f"SELECT day, state FROM {names.days} WHERE day = ANY(%s::integer[])",
                [list(fold.days)],
            )
        }
        conn.execute(f"DELETE FROM {names.days} WHERE day = ANY(%s::integer[])", [list(stored)])
        _copy(conn, f"{names.days} (day, state)", day_rows(fold, stored.get))
        self._transactions(fold)
        links = sorted(fold.links)
        conn.execute(
            f"INSERT INTO {names.links} SELECT * FROM unnest(%s::integer[], %s::text[], "
            "%s::text[]) ON CONFLICT DO NOTHING",
            [[d for _, _, d in links], [v for v, _, _ in links], [u for _, u, _ in links]],
        )
        self.keys += len(fold.visitors)
        self.days.update(fold.days)

    def _transactions(self, fold: PostgresFold) -> None:
        """Store the batch's conversions with a transaction id; mark every one sharing
        its id (goal and transaction id) with another, stored before or not."""
        orders = fold.transactions
        if not orders:
            return
        columns = list(zip(*orders, strict=True))
        table = self.names.transactions
        self.conn.execute(
            f"INSERT INTO {table} (goal, transaction_id, event_id, timestamp, kind, day) "
            "SELECT * FROM unnest(%s::text[], %s::text[], %s::text[], %s::bigint[], "
            "%s::text[], %s::integer[]) ON CONFLICT DO NOTHING",
            [list(c) for c in columns],
        )
        ids = sorted({(goal, transaction) for goal, transaction, *_ in orders})
        self.conn.execute(
            f"UPDATE {table} t SET shared = true FROM (SELECT goal, transaction_id FROM {table} "
            "JOIN unnest(%s::text[], %s::text[]) k (goal, transaction_id) "
            "USING (goal, transaction_id) GROUP BY 1, 2 HAVING count(*) > 1) m "
            "WHERE t.goal = m.goal AND t.transaction_id = m.transaction_id AND NOT t.shared",
            [[g for g, _ in ids], [t for _, t in ids]],
        )


def _copy(conn: psycopg.Connection[Any], target: str, rows: list[Any]) -> None:
    with conn.cursor() as cursor, cursor.copy(f"COPY {target} FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
