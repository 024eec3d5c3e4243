"""SQL stores: SQLite (the embedded default) and PostgreSQL (extra ``postgres``).

Both readers push the grouping into the database: one row per visitor (first event,
first and last touch, variant) and one per visitor, goal and currency (conversions,
first time, revenue) reach Python, never one per event. A repeated ``transaction_id``
is dropped in SQL; a repeated ``event_id`` cannot exist (the primary key).

URLs take a ``table`` query parameter (default ``convsdk_events``)::

    sqlite:///convsdk.db?table=events
    postgresql://report@db.internal/shop?table=convsdk_events&sslmode=require

Modules: :mod:`.options` (URL parameters), :mod:`.visitors` (rows to summaries),
:mod:`.sqlite_queries` and :mod:`.sqlite`, :mod:`.postgres_queries` and :mod:`.postgres`.
"""

from __future__ import annotations

from .options import DEFAULT_TABLE
from .postgres import PostgresReader
from .sqlite import SQLiteReader

__all__ = ["DEFAULT_TABLE", "PostgresReader", "SQLiteReader"]
