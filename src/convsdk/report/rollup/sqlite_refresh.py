"""``convsdk rollup sqlite:///...``: bring a SQLite store's rollups up to date.

Only the events after the watermark are read (a range of rowids: SQLite gives a new
row a rowid above every other, so they are the events stored since the last run,
whatever their timestamps: late ones and spool replays included). Their states are
merged into the stored ones, a batch at a time, each batch in one transaction with the
watermark, so an interrupted run leaves rollups that are right as far as they go; the
tracker may keep writing in between.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from urllib.parse import quote

from ...errors import BackendError, ConfigError
from ..sql import SQLiteReader
from ..sql.sqlite_queries import has_rowid
from .fold import COLUMNS, RollupFold
from .merge import day_rows, visitor_rows
from .result import RollupResult
from .schema import FORMAT
from .sqlite_schema import (
    NAMES,
    SCHEMA,
    Watermark,
    read_watermark,
    stale_reason,
    write_watermark,
)

__all__ = ["keep_sqlite", "roll_up_sqlite"]


def roll_up_sqlite(url: str, *, rebuild: bool, batch: int) -> RollupResult:
    """Bring the rollups of the SQLite store at ``url`` up to date (see
    :func:`~convsdk.report.rollup.roll_up`)."""
    reader = SQLiteReader.from_url(url)
    started = time.perf_counter()
    conn = _connect(reader.path, reader.table, reader.timeout)
    try:
        why, mark = _prepare(conn, reader.table, rebuild)
        events, keys, days, final = _catch_up(conn, mark, batch)
    except sqlite3.Error as exc:
        raise BackendError(f"cannot roll up {reader.path}: {exc}", backend="sqlite") from exc
    finally:
        conn.close()
    seconds = time.perf_counter() - started
    previous = None if why is not None else mark.text
    return RollupResult(events, keys, days, seconds, why, final, f"row {final.rowid:,}", previous)


def keep_sqlite(url: str, kept: Sequence[str | bytes], *, only: bool = False) -> None:
    """Keep a report's counts beside the rollups of the SQLite store at ``url``: ``kept``
    is the row of the table of counts (see :mod:`.counted`); ``only``: forget the
    others."""
    reader = SQLiteReader.from_url(url)
    conn = _connect(reader.path, reader.table, reader.timeout)
    try:
        conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in SCHEMA.split(";"):
                if statement.strip():
                    conn.execute(statement)
            if only:
                conn.execute(f"DELETE FROM {NAMES.counts} WHERE report <> ?", (kept[0],))
            conn.execute(f"INSERT OR REPLACE INTO {NAMES.counts} VALUES (?, ?, ?, ?, ?)", kept)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    except sqlite3.Error as exc:
        raise BackendError(f"cannot keep counts in {reader.path}: {exc}", backend="sqlite") from exc
    finally:
        conn.close()


def _connect(path: str, table: str, timeout: float) -> sqlite3.Connection:
    """The database, opened for writing; the events table checked."""
    if not os.path.isfile(path):
        raise ConfigError("no SQLite database here", field="source", source=path)
    uri = f"file:{quote(path)}?mode=rw"
    try:
        conn = sqlite3.connect(uri, uri=True, timeout=timeout, isolation_level=None)
        conn.execute(f"PRAGMA busy_timeout={int(timeout * 1000)}")
        found = conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)
        ).fetchone()
    except sqlite3.Error as exc:
        raise ConfigError(f"not a SQLite database ({exc})", field="source", source=path) from exc
    if found is None:
        conn.close()
        raise ConfigError(f"no {table} table in this database", field="table", source=path)
    if not has_rowid(conn, f'"{table}"'):
        conn.close()
        raise ConfigError(
            f"{table} is a WITHOUT ROWID table (the first layout), which cannot be rolled "
            "up: copy its rows into a new database (see convsdk.backends.sqlite)",
            field="table",
            source=path,
        )
    return conn


def _prepare(conn: sqlite3.Connection, table: str, rebuild: bool) -> tuple[str | None, Watermark]:
    """Create the rollup tables, empty if they must be made again; return why they were
    (``None`` if they were not) and the watermark to go on from."""
    mark = read_watermark(conn)
    why = "asked" if rebuild else None
    if mark is not None and why is None:
        reason = stale_reason(conn, mark, table)
        if reason is not None and mark.table != table:
            raise ConfigError(
                f"this database holds rollups of {mark.table}: --rebuild makes them of "
                f"{table} instead",
                field="table",
            )
        why = reason
    conn.execute("BEGIN IMMEDIATE")
    try:
        if why is not None:
            for name in NAMES.all():
                conn.execute(f"DROP TABLE IF EXISTS {name}")
        for statement in SCHEMA.split(";"):
            if statement.strip():
                conn.execute(statement)
        if why is not None or mark is None:
            mark = Watermark(table, 0, "", FORMAT, _now())
            write_watermark(conn, mark)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return why, mark


def _catch_up(
    conn: sqlite3.Connection, mark: Watermark, batch: int
) -> tuple[int, int, int, Watermark]:
    """Roll up the events after ``mark`` up to the last one stored when it starts;
    return (events, visitor-day states written, days touched, the new watermark)."""
    (target,) = conn.execute(f'SELECT MAX(rowid) FROM "{mark.table}"').fetchone()
    query = (
        f'SELECT {COLUMNS} FROM "{mark.table}" WHERE rowid > ? AND rowid <= ? '
        "ORDER BY rowid LIMIT ?"
    )
    events = keys = 0
    days: set[int] = set()
    while target is not None and mark.rowid < target:
        fold = RollupFold()
        try:
            read = fold.rows(conn.execute(query, (mark.rowid, target, batch)))
        except (ValueError, TypeError) as exc:
            raise BackendError(
                f"cannot roll up the event {fold.last_event_id}: {exc}", backend="sqlite"
            ) from exc
        if not read:
            break
        after = Watermark(mark.table, fold.last_rowid, fold.last_event_id, FORMAT, _now())
        if not _store(conn, fold, mark, after):
            # Another run rolled these up meanwhile: go on from where it got.
            found = read_watermark(conn)
            if found is None or found.table != mark.table or found.rowid < mark.rowid:
                raise BackendError("the rollups were rebuilt meanwhile", backend="sqlite")
            mark = found
            continue
        mark = after
        events += read
        keys += len(fold.visitors)
        days.update(fold.days)
    if events == 0:  # up to date: say when that was found
        mark = Watermark(mark.table, mark.rowid, mark.event_id, FORMAT, _now())
        write_watermark(conn, mark)
    return events, keys, len(days), mark


def _store(conn: sqlite3.Connection, fold: RollupFold, since: Watermark, mark: Watermark) -> bool:
    """Merge ``fold``'s states (the events after ``since``) into the stored ones and move
    the watermark to ``mark``, in one transaction; ``False`` (and nothing done) when the
    watermark is no longer at ``since``."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        if read_watermark(conn) != since:
            conn.execute("ROLLBACK")
            return False
        _merge_visitors(conn, fold)
        _merge_days(conn, fold)
        _add_transactions(conn, fold)
        conn.executemany(
            f"INSERT OR IGNORE INTO {NAMES.links} VALUES (?, ?, ?)",
            [(day, v, u) for v, u, day in fold.links],
        )
        write_watermark(conn, mark)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return True


def _merge_visitors(conn: sqlite3.Connection, fold: RollupFold) -> None:
    find = f"SELECT state FROM {NAMES.visitor_days} WHERE visitor_id = ? AND day = ?"

    def stored(key: tuple[str, int]) -> bytes | None:
        found = conn.execute(find, key).fetchone()
        return None if found is None else found[0]  # type: ignore[no-any-return]

    rows = visitor_rows(fold, stored)
    conn.executemany(f"INSERT OR REPLACE INTO {NAMES.visitor_days} VALUES (?, ?, ?)", rows)


def _merge_days(conn: sqlite3.Connection, fold: RollupFold) -> None:
    find = f"SELECT state FROM {NAMES.days} WHERE day = ?"

    def stored(day: int) -> bytes | None:
        found = conn.execute(find, (day,)).fetchone()
        return None if found is None else found[0]  # type: ignore[no-any-return]

    conn.executemany(f"INSERT OR REPLACE INTO {NAMES.days} VALUES (?, ?)", day_rows(fold, stored))


def _add_transactions(conn: sqlite3.Connection, fold: RollupFold) -> None:
    """Store the batch's conversions with a transaction id; mark every one sharing its
    id (goal and transaction id) with another, earlier stored or not."""
    conn.executemany(
        f"INSERT OR IGNORE INTO {NAMES.transactions} "
        "(goal, transaction_id, event_id, timestamp, kind, day) VALUES (?, ?, ?, ?, ?, ?)",
        fold.transactions,
    )
    conn.executemany(
        f"UPDATE {NAMES.transactions} SET shared = 1 "
        "WHERE goal = ? AND transaction_id = ? AND shared = 0 AND (SELECT COUNT(*) "
        f"FROM {NAMES.transactions} WHERE goal = ? AND transaction_id = ?) > 1",
        # Each pair twice: plain ? marks (a numbered one warns on Python 3.12.0 to 3.12.3).
        [(*pair, *pair) for pair in sorted({(g, t) for g, t, *_ in fold.transactions})],
    )


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
