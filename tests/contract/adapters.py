"""A small SQL adapter written as an adapter author would (a table keyed by event_id,
a lock, a lazy connection made again after fork, refused writes after close), and the
broken variants of it that reviews of real adapters turned up. The contract kit must
pass the first and fail each of the others by the test named after its flaw."""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from convsdk import BackendError, Event

COLUMNS = ("event_id", "name", "kind", "goal", "value", "currency", "transaction_id")
COLUMNS += ("timestamp", "visitor_id", "session_id", "user_id", "properties", "context")
KEYED = f"CREATE TABLE IF NOT EXISTS events ({', '.join(COLUMNS)}, PRIMARY KEY (event_id))"
PLAIN = f"CREATE TABLE IF NOT EXISTS events ({', '.join(COLUMNS)})"


class SQLStore:
    """Events in the ``events`` table of a SQLite file; resends are ignored by key."""

    table = KEYED
    insert_sql = f"INSERT OR IGNORE INTO events VALUES ({', '.join('?' * 13)})"

    def __init__(self, path: Path) -> None:
        self.path = path
        self._conn: sqlite3.Connection | None = None
        self._pid = os.getpid()
        self._lock = threading.Lock()
        self._closed = False

    def write(self, events: Sequence[Event]) -> None:
        if self._closed:
            raise BackendError("written after close()", backend="sql", retryable=False)
        rows = [self.row(event) for event in events]
        with self.locked():
            try:
                self.insert(self.connection(), rows)
            except sqlite3.Error as exc:
                raise self.failure(exc) from exc

    def close(self) -> None:
        self._closed = True
        with self._lock:
            conn, self._conn = self._conn, None
            if conn is not None and self._pid == os.getpid():
                conn.close()

    # -- the parts the broken variants change ------------------------------------------

    def locked(self) -> Any:
        return self._lock

    def connection(self) -> sqlite3.Connection:
        if self._pid != os.getpid():  # a forked child: the parent's connection is not ours
            self._pid, self._conn = os.getpid(), None
        if self._conn is None:
            self._conn = sqlite3.connect(self.path, check_same_thread=False, timeout=30)
            self._conn.execute(self.table)
        return self._conn

    def insert(self, conn: sqlite3.Connection, rows: list[tuple[Any, ...]]) -> None:
        with conn:
            conn.executemany(self.insert_sql, rows)

    def row(self, event: Event) -> tuple[Any, ...]:
        data = event.to_dict()
        data["timestamp"] = self.stamp(event.timestamp)
        for field in ("properties", "context"):
            data[field] = json.dumps(data[field])
        return tuple(data[column] for column in COLUMNS)

    def stamp(self, moment: datetime) -> str:
        return moment.astimezone(UTC).isoformat()

    def failure(self, exc: sqlite3.Error) -> BackendError:
        return BackendError(str(exc), backend="sql")  # retryable: the store may come back


def read_store(path: Path) -> Iterator[Event]:
    """What the table holds (nothing when there is no table yet)."""
    if not path.exists():
        return
    conn = sqlite3.connect(path)
    try:
        exists = conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'events'").fetchone()
        for row in conn.execute("SELECT * FROM events") if exists else []:
            data = dict(zip(COLUMNS, row, strict=True))
            stamp = datetime.fromisoformat(data["timestamp"])
            data["timestamp"] = (stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)).isoformat()
            for field in ("properties", "context"):
                data[field] = json.loads(data[field])
            yield Event.from_dict(data)
    finally:
        conn.close()


class NaiveTimestamps(SQLStore):
    """Writes the wall-clock time without its offset (a naive DATETIME column)."""

    def stamp(self, moment: datetime) -> str:
        return moment.replace(tzinfo=None).isoformat()


class DedupeInMemory(SQLStore):
    """No key on the table: repeats are caught in this instance's memory only."""

    table = PLAIN
    insert_sql = f"INSERT INTO events VALUES ({', '.join('?' * 13)})"

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.seen: set[str] = set()

    def insert(self, conn: sqlite3.Connection, rows: list[tuple[Any, ...]]) -> None:
        fresh = [row for row in rows if row[0] not in self.seen]
        self.seen.update(row[0] for row in fresh)
        super().insert(conn, fresh)


class NoLock(SQLStore):
    """Shares one batch buffer between threads, unguarded, across a round trip."""

    pending: list[tuple[Any, ...]]

    def locked(self) -> Any:
        return _NoLock()

    def insert(self, conn: sqlite3.Connection, rows: list[tuple[Any, ...]]) -> None:
        self.pending = rows
        time.sleep(0.005)  # the server's round trip, when other threads run
        super().insert(conn, self.pending)


class AllPermanent(SQLStore):
    """Marks every error permanent: an outage would dead-letter everything."""

    def failure(self, exc: sqlite3.Error) -> BackendError:
        return BackendError(str(exc), backend="sql", retryable=False)


class ReconnectsAfterClose(SQLStore):
    """Connects again when written after ``close()``, leaking that connection."""

    def write(self, events: Sequence[Event]) -> None:
        self._closed = False
        super().write(events)


class _NoLock:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None
