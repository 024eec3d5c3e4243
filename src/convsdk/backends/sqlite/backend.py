"""The ``sqlite://`` backend: :class:`SQLiteBackend`, one lazily opened connection, one
transaction a batch, safe to close from any thread and to use after a fork."""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import quote

from ...adapters import parse_url, url_key
from ...errors import BackendError, ConfigError
from ...event import Event
from ...options import seconds
from ..options import float_option
from .reader import read_events, select
from .rows import insert, to_rows
from .schema import DEFAULT_TIMEOUT, MEMORY, connect
from .url import path_from_url

__all__ = ["SQLiteBackend"]

_log = logging.getLogger("convsdk.backends.sqlite")

# write() and close() wait for each other at most the busy timeout plus this.
_LOCK_SLACK = 5.0
# Errors that sending the same batch again cannot cure. Anything else (locked, busy,
# disk full, I/O, even a corrupt file an operator may restore) is worth retrying: the
# dispatcher keeps the events meanwhile.
_PERMANENT = (
    sqlite3.IntegrityError,
    sqlite3.ProgrammingError,
    sqlite3.InterfaceError,
    sqlite3.DataError,
    sqlite3.NotSupportedError,
)
# Connections inherited through fork(). SQLite forbids using them in the child, and
# closing them there could disturb the parent's locks, so they are kept, unused.
_inherited: list[sqlite3.Connection] = []


class SQLiteBackend:
    """Store events in the ``convsdk_events`` table of a SQLite database.

    >>> backend = SQLiteBackend("convsdk.db")            # or from_url("sqlite:///convsdk.db")
    >>> backend.write([Event("purchase", kind="macro", value=49.0, currency="USD")])
    >>> [(event.name, event.value) for event in backend.read(since="2025-06-01")]
    [('purchase', 49.0)]

    The connection is opened on the first :meth:`write`, in the writing (dispatcher)
    thread. A :meth:`write` after :meth:`close` raises a permanent
    :class:`~convsdk.BackendError`.
    """

    # Threading: the connection is created with check_same_thread=False and every use
    # holds self._lock. close() is normally called by whoever stops the tracker, not by
    # the dispatcher thread that opened the connection (and which may have exited by
    # then); closing only from the owner thread would leave the file open and its WAL
    # unmerged. The lock keeps close() out of a running transaction.

    def __init__(
        self, path: str | os.PathLike[str] = "convsdk.db", *, timeout: float = DEFAULT_TIMEOUT
    ) -> None:
        target = os.fspath(path)
        if not target:
            raise ConfigError("the database path is empty", field="path")
        # Absolute now, so that an application's later chdir does not move the database.
        self.path = target if target == MEMORY else os.path.abspath(target)
        self.timeout = float_option("timeout", timeout)
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()
        self._closed = False
        self._pid = os.getpid()

    @classmethod
    def from_url(cls, url: str, **options: Any) -> SQLiteBackend:
        """Build from ``sqlite:///relative.db``, ``sqlite:////absolute.db`` or ``sqlite://:memory:``.

        The one option, ``timeout`` (seconds to wait for another writer's lock), may be
        a query parameter or a keyword; a bad or unknown one raises
        :class:`convsdk.ConfigError` naming it.
        """
        parsed = parse_url(url, {"timeout": seconds(allow_zero=True)}, overrides=options)
        return cls(path_from_url(url), **parsed.options)

    @property
    def destination_key(self) -> str | None:
        """The key of its spool: the one its ``sqlite:////absolute.db`` URL gives; None
        for an in-memory database (nothing outlives the process: the class name serves)."""
        if self.path == MEMORY:
            return None
        return url_key(f"sqlite:///{quote(self.path)}")

    def __repr__(self) -> str:
        return f"SQLiteBackend({self.path!r}, timeout={self.timeout})"

    def check(self) -> None:
        """Raise :class:`convsdk.BackendError` unless the database takes events now.

        Opens (or creates) the database and its table, as the first write would.
        """
        self._after_fork()
        if not self._lock.acquire(timeout=self.timeout + _LOCK_SLACK):
            raise BackendError(f"{self.path} is busy (closing)", backend="sqlite")
        try:
            if self._conn is None:
                self._open_locked()
        except (sqlite3.Error, OSError) as exc:
            raise BackendError(f"cannot open {self.path}: {exc}", backend="sqlite") from exc
        finally:
            self._lock.release()

    def write(self, events: Sequence[Event]) -> None:
        """Insert the batch in one transaction, ignoring events already stored.

        Raises :class:`convsdk.BackendError` (``backend="sqlite"``); ``retryable`` is
        false only for errors a resend cannot fix. An event that cannot be serialised
        is logged and left out; the rest are stored.
        """
        rows = to_rows(events)
        if not rows:
            return
        self._after_fork()
        if self._closed:
            raise BackendError(
                f"{self.path}: written after close()", backend="sqlite", retryable=False
            )
        if not self._lock.acquire(timeout=self.timeout + _LOCK_SLACK):
            raise BackendError(f"{self.path} is busy (closing)", backend="sqlite")
        try:
            insert(self._conn if self._conn is not None else self._open_locked(), rows)
        except (sqlite3.Error, OSError) as exc:
            retryable = not isinstance(exc, _PERMANENT)
            code = getattr(exc, "sqlite_errorname", None)
            detail = f"{exc} ({code})" if code else str(exc)
            raise BackendError(
                f"cannot store {len(rows)} events in {self.path}: {detail}",
                backend="sqlite",
                retryable=retryable,
            ) from exc
        finally:
            self._lock.release()

    def read(
        self, *, since: datetime | str | None = None, until: datetime | str | None = None
    ) -> Iterator[Event]:
        """The stored events ordered by timestamp (see :func:`read_events`)."""
        if self.path != MEMORY:
            return read_events(self.path, since=since, until=until)
        # An in-memory database exists only on this connection, and is in memory anyway.
        sql, params = select(since, until)
        if not self._lock.acquire(timeout=self.timeout + _LOCK_SLACK):
            raise BackendError("the in-memory database is busy", backend="sqlite")
        try:
            rows = [] if self._conn is None else self._conn.execute(sql, params).fetchall()
        finally:
            self._lock.release()
        return (Event.from_row(row) for row in rows)

    def close(self) -> None:
        """Close the connection; safe from any thread, and more than once. A later
        :meth:`write` raises a permanent :class:`~convsdk.BackendError`."""
        self._closed = True
        if not self._lock.acquire(timeout=self.timeout + _LOCK_SLACK):
            _log.warning("%s: a write is still in progress; the database is left open", self.path)
            return
        try:
            conn, self._conn = self._conn, None
            if conn is not None:
                try:
                    conn.execute("PRAGMA optimize")  # what SQLite advises before closing
                    conn.close()
                except sqlite3.Error as exc:
                    _log.warning("%s: error while closing: %s", self.path, exc)
        finally:
            self._lock.release()

    def _open_locked(self) -> sqlite3.Connection:
        self._conn = connect(self.path, timeout=self.timeout)
        return self._conn

    def _after_fork(self) -> None:
        if self._pid != os.getpid():
            # A child of a fork: the lock may be held by a parent thread that does not
            # exist here, and the connection belongs to the parent.
            self._pid = os.getpid()
            self._lock = threading.Lock()
            if self._conn is not None:
                _inherited.append(self._conn)
                self._conn = None
