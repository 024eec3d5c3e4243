"""The PostgreSQL table: its columns (those of the SQLite backend, so one report reader
works on both) and indexes, created if missing; and the ``xid`` column rollups need.

``xid xid8 NOT NULL DEFAULT pg_current_xact_id()`` holds the id of the transaction that
stored each row, filled by the server on every insert (the writes name their columns
and leave it out). ``convsdk rollup`` keeps its watermark by it: a snapshot of which
transactions had committed, so that rows of a transaction still open at one run are
taken by the next, whatever order transactions commit in (:mod:`convsdk.report.rollup`).

A table of an earlier convsdk gets the column in place: ``pg_current_xact_id()`` is a
*stable* function, so ``ADD COLUMN`` stores it once as the default of every existing row
(the id of the ``ALTER TABLE``'s own transaction, committed before any rollup that
follows) and rewrites nothing; it takes a moment, under a brief exclusive lock. The
index on it is built by :func:`add_xid` with ``index=True`` (``convsdk migrate`` and
``convsdk rollup``), not by a tracker's first write: building it on a big table holds
writes back for as long as it takes.
"""

from __future__ import annotations

import logging
from typing import Any

import psycopg
from psycopg import sql

from ...event import COLUMNS

__all__ = ["COLUMNS", "XID", "add_xid", "create_schema"]

logger = logging.getLogger("convsdk.postgres")

#: The column holding the id of the transaction that stored the row.
XID = "xid"
_XID_TYPE = "xid8 NOT NULL DEFAULT pg_current_xact_id()"

_TYPES = {
    "event_id": "TEXT PRIMARY KEY",
    "name": "TEXT NOT NULL",
    "kind": "TEXT",
    "goal": "TEXT",
    "value": "DOUBLE PRECISION",
    "currency": "TEXT",
    "transaction_id": "TEXT",
    "timestamp": "TIMESTAMPTZ NOT NULL",
    "visitor_id": "TEXT",
    "session_id": "TEXT",
    "user_id": "TEXT",
    "properties": "JSONB NOT NULL",
    "context": "JSONB NOT NULL",
}
_COLUMN_DEFINITIONS = ", ".join(f"{name} {_TYPES[name]}" for name in COLUMNS)
_CREATE_TABLE = "CREATE TABLE IF NOT EXISTS {} (" + _COLUMN_DEFINITIONS + f", {XID} {_XID_TYPE})"
#: The indexes, by name suffix: the columns and condition. Most events (plain page
#: views) have no goal; leaving them out keeps the index small and the writes fast, and
#: "goal = X" queries still use it.
_INDEXES = (
    ("_timestamp_idx", "(timestamp)"),
    ("_visitor_idx", "(visitor_id, timestamp)"),
    ("_goal_idx", "(goal, timestamp) WHERE goal IS NOT NULL"),
)
_XID_INDEX = ("_xid_idx", f"({XID})")
# Milliseconds a tracker's first write waits to add the column to an existing table (the
# exclusive lock queues behind a long report, and every write would queue behind it).
_FIRST_USE_LOCK_TIMEOUT = 2000


def create_schema(
    conn: psycopg.Connection[Any], table: tuple[str, ...], *, upgrade: bool = False
) -> None:
    """Create the table and indexes if missing; safe to run from many processes at once.

    An existing table without the ``xid`` column gets it; with ``upgrade`` its index
    too, and the column is added however long the lock takes to get (``convsdk
    migrate``); without, the column only, and only if the lock comes within two seconds
    (a tracker's first write, which must not hold the others back).
    """
    with conn.transaction():
        _serialise(conn, table)
        created = not _exists(conn, table)
        conn.execute(sql.SQL(_CREATE_TABLE).format(sql.Identifier(*table)))
        for suffix, columns in _INDEXES:
            _index(conn, table, suffix, columns)
        if not created:
            _add_column(conn, table, None if upgrade else _FIRST_USE_LOCK_TIMEOUT)
        if created or upgrade:
            _index(conn, table, *_XID_INDEX)


def add_xid(conn: psycopg.Connection[Any], table: tuple[str, ...]) -> bool:
    """Give an existing table the ``xid`` column and its index, if missing (committed
    before it returns, in a transaction of its own); return whether the column was there
    without its default (a table copied with ``CREATE TABLE AS``), which it is given:
    rows may have been stored with a null xid."""
    with conn.transaction():
        _serialise(conn, table)
        lost = _add_column(conn, table, None)
        _index(conn, table, *_XID_INDEX)
    return lost


def _serialise(conn: psycopg.Connection[Any], table: tuple[str, ...]) -> None:
    # Concurrent CREATE ... IF NOT EXISTS can still collide in the catalog: serialise.
    conn.execute(
        sql.SQL("SELECT pg_advisory_xact_lock(hashtext({}))").format(
            sql.Literal("convsdk.migrate:" + ".".join(table))
        )
    )


def _exists(conn: psycopg.Connection[Any], table: tuple[str, ...]) -> bool:
    row = conn.execute("SELECT to_regclass(%s)", [sql.Identifier(*table).as_string(conn)])
    found = row.fetchone()
    return found is not None and found[0] is not None


def _add_column(
    conn: psycopg.Connection[Any], table: tuple[str, ...], lock_timeout: int | None
) -> bool:
    """Add the ``xid`` column unless there (looked up first: ``ADD COLUMN IF NOT
    EXISTS`` takes the exclusive lock even when the column is there), or give it back
    its default; return whether it was there without it."""
    found = conn.execute(
        "SELECT atthasdef FROM pg_attribute WHERE attrelid = %s::regclass AND attname = %s "
        "AND NOT attisdropped",
        [sql.Identifier(*table).as_string(conn), XID],
    ).fetchone()
    if found is not None and found[0]:
        return False
    if found is None:
        change = "ADD COLUMN IF NOT EXISTS {} " + _XID_TYPE
    else:
        change = "ALTER COLUMN {} SET DEFAULT pg_current_xact_id()"
    alter = sql.SQL("ALTER TABLE {} " + change).format(sql.Identifier(*table), sql.Identifier(XID))
    if lock_timeout is None:
        conn.execute(alter)
        return found is not None
    try:
        with conn.transaction():
            conn.execute(sql.SQL("SET LOCAL lock_timeout = {}").format(sql.Literal(lock_timeout)))
            conn.execute(alter)
            conn.execute("SET LOCAL lock_timeout TO DEFAULT")
    except psycopg.errors.LockNotAvailable:
        logger.info(
            "%s: the xid column is left for convsdk migrate or convsdk rollup to add (the "
            "table is busy)",
            ".".join(table),
        )
    return found is not None


def _index(
    conn: psycopg.Connection[Any], table: tuple[str, ...], suffix: str, columns: str
) -> None:
    """Make the index unless there (looked up first: ``CREATE INDEX IF NOT EXISTS``
    takes a lock that waits for every open transaction that wrote to the table)."""
    name = (*table[:-1], table[-1] + suffix)
    found = conn.execute("SELECT to_regclass(%s)", [sql.Identifier(*name).as_string(conn)])
    row = found.fetchone()
    if row is not None and row[0] is not None:
        return
    conn.execute(
        sql.SQL("CREATE INDEX IF NOT EXISTS {} ON {} " + columns).format(
            sql.Identifier(name[-1]), sql.Identifier(*table)
        )
    )
