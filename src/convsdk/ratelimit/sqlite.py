"""Rate limits in a SQLite file, shared by every process on the host that opens it."""

from __future__ import annotations

import os
import sqlite3
import threading
import time
import weakref
from collections.abc import Sequence

from ..errors import ConfigError
from .gcra import EPSILON, Limit, advance

__all__ = ["FileStore"]

_UPSERT = (
    "INSERT INTO rate_limits (key, full_at) VALUES (?, ?) "
    "ON CONFLICT (key) DO UPDATE SET full_at = excluded.full_at"
)
_PRUNE_EVERY = 4096  # takes between removals of the keys whose bucket is full again


class FileStore:
    """The limits in a SQLite file, shared by every process on the host that opens it.

    A check is one ``BEGIN IMMEDIATE`` transaction, so two workers never both take the
    last event of a bucket. The file is WAL-journalled and not synced: a crash may
    forget the last counts, which is harmless for a rate limit. Keys whose bucket is
    full again are removed now and then, so the file stays small.

    A store dropped without :meth:`close` (an endpoint bound to another tracker, an app
    made per test) closes its connection when it is collected, or at exit.

    >>> store = FileStore(".convsdk-spool/beacon-limits.sqlite3")
    """

    def __init__(self, path: str | os.PathLike[str], *, timeout: float = 2.0) -> None:
        self.path = os.path.abspath(os.fspath(path))
        self.timeout = timeout
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._closer: weakref.finalize[[], FileStore] | None = None
        self._pid = 0
        self._takes = 0
        try:
            os.makedirs(os.path.dirname(self.path), exist_ok=True)
            with self._lock:
                self._connection()
        except (OSError, sqlite3.Error) as exc:
            raise ConfigError(
                f"cannot open the rate limit file {self.path}: {exc}", field="rate_limit_url"
            ) from exc

    def _connection(self) -> sqlite3.Connection:
        pid = os.getpid()
        if self._conn is None or self._pid != pid:
            # A forked worker opens its own: a connection must not cross a fork.
            conn = self._open()
            self._conn, self._pid = conn, pid
            self._closer = weakref.finalize(self, conn.close)
        return self._conn

    def _open(self) -> sqlite3.Connection:
        # Switching a new file to WAL needs it alone: SQLite answers "database is
        # locked" at once, without waiting, when another worker is opening it too.
        deadline = time.monotonic() + self.timeout
        delay = 0.005
        while True:
            conn = sqlite3.connect(
                self.path, timeout=self.timeout, isolation_level=None, check_same_thread=False
            )
            try:
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=OFF")
                conn.execute(
                    "CREATE TABLE IF NOT EXISTS rate_limits "
                    "(key TEXT PRIMARY KEY, full_at REAL NOT NULL) WITHOUT ROWID"
                )
                return conn
            except sqlite3.OperationalError as exc:
                conn.close()
                if "locked" not in str(exc) and "busy" not in str(exc):
                    raise
                if time.monotonic() + delay > deadline:
                    raise
            time.sleep(delay)
            delay = min(delay * 2, 0.1)

    def take(self, limits: Sequence[Limit], count: int, now: float) -> float:
        """See :meth:`RateStore.take`."""
        with self._lock:
            conn = self._connection()
            conn.execute("BEGIN IMMEDIATE")
            try:
                over = 0.0
                updates = []
                for limit in limits:
                    row = conn.execute(
                        "SELECT full_at FROM rate_limits WHERE key = ?", (limit.key,)
                    ).fetchone()
                    new, excess = advance(row[0] if row else None, now, count, limit)
                    over = max(over, excess)
                    updates.append((limit.key, new))
                if over <= EPSILON:
                    conn.executemany(_UPSERT, updates)
                    self._takes += 1
                    if self._takes % _PRUNE_EVERY == 0:
                        conn.execute("DELETE FROM rate_limits WHERE full_at < ?", (now,))
                conn.execute("COMMIT")
            except Exception:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
        return over if over > EPSILON else 0.0

    def close(self) -> None:
        """Close this process's connection."""
        with self._lock:
            closer = self._closer
            if closer is not None and self._pid == os.getpid():
                closer()
            self._conn = self._closer = None

    def __len__(self) -> int:
        with self._lock:
            row = self._connection().execute("SELECT count(*) FROM rate_limits").fetchone()
        return int(row[0])

    def __repr__(self) -> str:
        return f"<FileStore {self.path!r}>"
