"""The SQLite table and its pragmas: :data:`SCHEMA`, :func:`connect` (the layouts are
described in the package docstring)."""

from __future__ import annotations

import logging
import os
import sqlite3

from ...event import COLUMNS

__all__ = ["DEFAULT_TIMEOUT", "MEMORY", "PAGE_SIZE", "SCHEMA", "SCHEMA_VERSION", "connect"]

_log = logging.getLogger("convsdk.backends.sqlite")

DEFAULT_TIMEOUT = 5.0
SCHEMA_VERSION = 2
#: The path of a database that lives in memory, on its connection only.
MEMORY = ":memory:"

# The declaration of each column of COLUMNS, and a comment where one helps.
_DECLARATIONS: dict[str, tuple[str, str]] = {
    "event_id": ("TEXT NOT NULL PRIMARY KEY", ""),
    "name": ("TEXT NOT NULL", ""),
    "kind": ("TEXT", "'micro' | 'macro' | NULL"),
    "goal": ("TEXT", ""),
    "value": ("REAL", ""),
    "currency": ("TEXT", ""),
    "transaction_id": ("TEXT", ""),
    "timestamp": ("TEXT NOT NULL", "ISO-8601 UTC with microseconds: sorts as text"),
    "visitor_id": ("TEXT", ""),
    "session_id": ("TEXT", ""),
    "user_id": ("TEXT", ""),
    "properties": ("TEXT NOT NULL", "JSON"),
    "context": ("TEXT NOT NULL", "JSON"),
}


def _column(name: str, last: bool) -> str:
    declaration, comment = _DECLARATIONS[name]
    text = declaration + ("" if last else ",")
    return f"  {name:<14} {text:<19}-- {comment}" if comment else f"  {name:<14} {text}"


SCHEMA = (
    "CREATE TABLE IF NOT EXISTS convsdk_events (\n"
    + "".join(_column(name, name == COLUMNS[-1]) + "\n" for name in COLUMNS)
    + ");\n"
    "CREATE INDEX IF NOT EXISTS convsdk_events_timestamp ON convsdk_events (timestamp);\n"
    "CREATE INDEX IF NOT EXISTS convsdk_events_anonymous ON convsdk_events (timestamp)\n"
    "  WHERE visitor_id IS NULL;\n"
)
# A rowid table, not WITHOUT ROWID (the first layout): a WITHOUT ROWID table is a
# b-tree of whole rows, interior pages included, which SQLite advises only for rows
# under a twentieth of a page; ours are 600-700 bytes. Rows now append at the end of
# the table in whatever order they arrive, and only the small entries of the event_id
# and time indexes go into place. Measured on batches of 1,000 into a growing file:
# +5-10% events/s for events in time order, twice as many for events in random order,
# and a smaller file (-3% in time order, -12% out of order).
#
# Only the time index is kept up on every write: a (visitor_id, ...) index scatters
# inserts across the whole b-tree and cut write throughput by more than half. Reports
# group per visitor in one scan, which needs no index. The time index costs ~6% of
# events/s; a report's time range and ``read_events(since=...)`` need it (event ids
# are not a time: collected events bring their own).
#
# Measured again for the report on a million events: a covering (visitor_id,
# timestamp, event_id) index answers the report's first-event query from the index
# (3.2 -> 2.2 s) but takes 40% of events/s (batches of 1,000 in time order: 55k ->
# 33k, 86k -> 50k), so it is left out; a partial index on (kind, goal, ...) of the
# conversions changed nothing measurable. The events without a visitor (Do-Not-Track,
# tracked outside a request: a few percent) have a partial index of their own, which
# their report query reads instead of the table (0.23 -> 0.07 s) at a cost to writes
# of those events only.

# The page size of new databases (SQLite's default is 4 KiB). Measured: 16 KiB pages
# take batches of 1,000 rows ~5% faster (fewer pages to split, shallower trees);
# 8 KiB and 32 KiB do no better.
PAGE_SIZE = 16384
# The WAL is merged into the database (checkpointed: under synchronous=NORMAL the one
# step that waits for the disk) once it holds about this much, whatever the page
# size. Measured: +4% events/s over 16 MiB, +10% over SQLite's 4 MiB. The WAL file is
# cut back to this size after a checkpoint (journal_size_limit) and removed on close.
_WAL_CHECKPOINT_BYTES = 64 * 1024 * 1024


def connect(
    path: str | os.PathLike[str], *, timeout: float = DEFAULT_TIMEOUT
) -> sqlite3.Connection:
    """Open a database with convsdk's pragmas, creating the schema if needed.

    >>> conn = connect("convsdk.db")
    >>> conn.execute("SELECT goal, count(*) FROM convsdk_events GROUP BY goal").fetchall()

    The connection is in autocommit mode (``isolation_level=None``: issue ``BEGIN``
    yourself for a transaction) and may be used from any thread, one at a time. Parent
    directories are created.
    """
    target = os.fspath(path)
    if target != MEMORY:
        os.makedirs(os.path.dirname(os.path.abspath(target)), exist_ok=True)
    conn = sqlite3.connect(target, timeout=timeout, isolation_level=None, check_same_thread=False)
    try:
        _configure(conn, target, timeout)
    except Exception:
        conn.close()
        raise
    return conn


def _configure(conn: sqlite3.Connection, target: str, timeout: float) -> None:
    """Set the pragmas and create the table (an existing database keeps its layout)."""
    # Before anything else: setting the journal mode creates the file, and with it
    # its page size (an existing database keeps its own; this is then a no-op).
    conn.execute(f"PRAGMA page_size={PAGE_SIZE}")
    mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
    if str(mode).lower() != "wal" and target != MEMORY:
        _log.warning("%s: WAL journal mode unavailable, using %s", target, mode)
    # NORMAL in WAL mode: a commit is not synced, a checkpoint is. A process crash
    # loses nothing; a power cut may lose the last batches, never the file.
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute(f"PRAGMA busy_timeout={int(timeout * 1000)}")
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    conn.execute(f"PRAGMA wal_autocheckpoint={_WAL_CHECKPOINT_BYTES // page_size}")
    conn.execute(f"PRAGMA journal_size_limit={_WAL_CHECKPOINT_BYTES}")
    # A 16 MiB page cache keeps the indexes' working set in memory as the table
    # grows (measured: a larger one, mmap_size or temp_store change nothing).
    conn.execute("PRAGMA cache_size=-16384")
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    # A database of an earlier layout already has the table, and keeps it.
    conn.executescript(SCHEMA)
    if version == 0:
        conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
