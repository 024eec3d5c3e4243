"""``sqlite://``: the embedded default, one table in a local SQLite database.

::

    tracker = convsdk.Tracker(backend="sqlite:///convsdk.db")        # the default
    ...
    for event in read_events("convsdk.db", since="2025-01-01"):
        print(event.timestamp, event.name, event.value)

URLs (the SQLAlchemy spelling)::

    sqlite:///convsdk.db              relative to the working directory at construction
    sqlite:////var/lib/shop/events.db absolute (four slashes)
    sqlite://:memory:                 in memory, gone on close (tests)
    sqlite:///convsdk.db?timeout=10   seconds to wait for a lock held by another writer

The database runs in WAL mode with ``synchronous=NORMAL`` (see :func:`connect`):
readers (``convsdk report``) never block the writer, and a batch survives a process
crash (a power cut may lose the last batches, never corrupt the file). Every batch is
one transaction of ``INSERT OR IGNORE`` rows keyed by ``event_id``, so a batch re-sent
after a failure is stored once. The table is :data:`SCHEMA`; ``PRAGMA user_version``
holds :data:`SCHEMA_VERSION` for future migrations.

Layouts. A database created now (``user_version`` 2) keeps its rows in an ordinary
rowid table, ``event_id`` being a ``TEXT PRIMARY KEY`` (a unique index), on 16 KiB
pages. A database created before (``user_version`` 1: a ``WITHOUT ROWID`` table, 4 KiB
pages) is written and read as it is: same columns, same dedupe by ``event_id``, same
time index; only its writes are slower (10-15% fewer events/s). SQLite fixes the
page size of a database when it creates the file, so an existing file keeps its own.
To move an old database to the new layout, copy its rows into a new one::

    conn = connect("new.db")
    conn.execute("ATTACH 'old.db' AS old")
    conn.execute("INSERT OR IGNORE INTO convsdk_events SELECT * FROM old.convsdk_events")

The package: :mod:`.schema` (table, pragmas, :func:`connect`), :mod:`.rows` (a batch as
rows, the insert), :mod:`.backend` (:class:`SQLiteBackend`), :mod:`.reader`
(:func:`read_events`), :mod:`.url` (``sqlite://`` URLs).
"""

from __future__ import annotations

from .backend import SQLiteBackend
from .reader import read_events
from .schema import DEFAULT_TIMEOUT, PAGE_SIZE, SCHEMA, SCHEMA_VERSION, connect

__all__ = [
    "DEFAULT_TIMEOUT",
    "PAGE_SIZE",
    "SCHEMA",
    "SCHEMA_VERSION",
    "SQLiteBackend",
    "connect",
    "read_events",
]
