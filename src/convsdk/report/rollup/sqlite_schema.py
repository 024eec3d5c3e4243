"""The SQLite store's rollup tables (:mod:`.schema` tells what they hold) and watermark.

In the events' own database, named ``convsdk_rollup_*``::

    convsdk_rollup_visitor_days   WITHOUT ROWID, indexed by day
    convsdk_rollup_days
    convsdk_rollup_transactions   WITHOUT ROWID, the shared ones indexed by day
    convsdk_rollup_links          WITHOUT ROWID
    convsdk_rollup_counts         a report's counts, by the report and the watermark
    convsdk_rollup_watermark      one row: the events table rolled up, the rowid of
                                  its last event rolled up and that event's id
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from .schema import FORMAT, RollupNames

__all__ = [
    "NAMES",
    "SCHEMA",
    "Watermark",
    "read_watermark",
    "stale_reason",
    "write_watermark",
]

#: The rollup tables.
NAMES = RollupNames.of("convsdk")

SCHEMA = """
CREATE TABLE IF NOT EXISTS convsdk_rollup_visitor_days (
  visitor_id TEXT NOT NULL,
  day        INTEGER NOT NULL,
  state      BLOB NOT NULL,
  PRIMARY KEY (visitor_id, day)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS convsdk_rollup_visitor_days_day
  ON convsdk_rollup_visitor_days (day);
CREATE TABLE IF NOT EXISTS convsdk_rollup_days (
  day   INTEGER PRIMARY KEY,
  state BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS convsdk_rollup_transactions (
  goal           TEXT NOT NULL,
  transaction_id TEXT NOT NULL,
  event_id       TEXT NOT NULL,
  timestamp      INTEGER NOT NULL,
  kind           TEXT NOT NULL,
  day            INTEGER NOT NULL,
  shared         INTEGER NOT NULL DEFAULT 0,  -- 1: another conversion has the same id
  PRIMARY KEY (goal, transaction_id, event_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS convsdk_rollup_transactions_shared
  ON convsdk_rollup_transactions (day) WHERE shared;
CREATE TABLE IF NOT EXISTS convsdk_rollup_links (
  day        INTEGER NOT NULL,
  visitor_id TEXT NOT NULL,
  user_id    TEXT NOT NULL,
  PRIMARY KEY (day, visitor_id, user_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS convsdk_rollup_counts (
  report     TEXT PRIMARY KEY,  -- the report counted: its definition, hashed
  definition TEXT NOT NULL,     -- its goals (names, kinds, funnels) and options
  spec       TEXT NOT NULL,     -- what its counts are of (with every goal's kind), hashed
  watermark  TEXT NOT NULL,     -- the rollups counted: their watermark then
  state      BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS convsdk_rollup_watermark (
  id            INTEGER PRIMARY KEY CHECK (id = 1),
  events_table  TEXT NOT NULL,
  last_rowid    INTEGER NOT NULL,
  last_event_id TEXT NOT NULL,
  format        INTEGER NOT NULL,
  updated_at    TEXT NOT NULL
);
"""


@dataclass(frozen=True, slots=True)
class Watermark:
    """How far the rollups go: every event of ``table`` up to rowid ``rowid`` is in."""

    table: str
    rowid: int
    event_id: str
    """The id of the event at ``rowid``: another one there means the table was rewritten."""
    format: int
    updated_at: str
    """When the rollups were last brought up to date (ISO-8601, UTC)."""

    @property
    def text(self) -> str:
        """The watermark as text: another text, other rollups."""
        return f"{self.table} {self.rowid} {self.event_id} {self.updated_at}"


def read_watermark(conn: sqlite3.Connection) -> Watermark | None:
    """The rollups' watermark; ``None`` when the database has no rollups."""
    try:
        row = conn.execute(
            "SELECT events_table, last_rowid, last_event_id, format, updated_at "
            "FROM convsdk_rollup_watermark WHERE id = 1"
        ).fetchone()
    except sqlite3.OperationalError:  # no such table
        return None
    return None if row is None else Watermark(*row)


def write_watermark(conn: sqlite3.Connection, mark: Watermark) -> None:
    """Store ``mark`` (inside the caller's transaction)."""
    conn.execute(
        "INSERT OR REPLACE INTO convsdk_rollup_watermark VALUES (1, ?, ?, ?, ?, ?)",
        (mark.table, mark.rowid, mark.event_id, mark.format, mark.updated_at),
    )


def stale_reason(conn: sqlite3.Connection, mark: Watermark, table: str) -> str | None:
    """Why the rollups cannot stand for the events of ``table``; ``None`` if they can.

    Events are added after the watermark's rowid, so the rollups and the events after
    it are every event exactly once, unless the table was rewritten: a ``VACUUM`` after
    a deletion renumbers the rows, a restored or recreated table starts again. The
    event at the watermark tells. A deletion alone does not change it: the rollups
    then still count the deleted events (rebuild them after an erasure).
    """
    if mark.table != table:
        return f"they are of the table {mark.table}"
    if mark.format != FORMAT:
        return "they were made by another version of convsdk"
    if mark.rowid == 0:
        return None
    row = conn.execute(f'SELECT event_id FROM "{table}" WHERE rowid = ?', (mark.rowid,)).fetchone()
    if row is None or row[0] != mark.event_id:
        return "the events table was rewritten since (a VACUUM, a restore, a new table)"
    return None
