"""The PostgreSQL table: its columns (those of the SQLite backend, so one report reader
works on both) and indexes, created if missing."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import sql

from ...event import COLUMNS

__all__ = ["COLUMNS", "create_schema"]

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
_CREATE_TABLE = "CREATE TABLE IF NOT EXISTS {} (" + _COLUMN_DEFINITIONS + ")"


def create_schema(conn: psycopg.Connection[Any], table: tuple[str, ...]) -> None:
    """Create the table and indexes if missing; safe to run from many processes at once."""
    ident = sql.Identifier(*table)
    base = table[-1]
    statements = [
        # Concurrent CREATE ... IF NOT EXISTS can still collide in the catalog: serialise.
        sql.SQL("SELECT pg_advisory_xact_lock(hashtext({}))").format(
            sql.Literal("convsdk.migrate:" + ".".join(table))
        ),
        sql.SQL(_CREATE_TABLE).format(ident),
        sql.SQL("CREATE INDEX IF NOT EXISTS {} ON {} (timestamp)").format(
            sql.Identifier(f"{base}_timestamp_idx"), ident
        ),
        sql.SQL("CREATE INDEX IF NOT EXISTS {} ON {} (visitor_id, timestamp)").format(
            sql.Identifier(f"{base}_visitor_idx"), ident
        ),
        # Most events (plain page views) have no goal; leaving them out keeps the index
        # small and the writes fast, and "goal = X" queries still use it.
        sql.SQL(
            "CREATE INDEX IF NOT EXISTS {} ON {} (goal, timestamp) WHERE goal IS NOT NULL"
        ).format(sql.Identifier(f"{base}_goal_idx"), ident),
    ]
    with conn.transaction():
        for statement in statements:
            conn.execute(statement)
