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
"""

from __future__ import annotations

import logging
import math
import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from datetime import datetime
from itertools import chain
from typing import Any
from urllib.parse import unquote, urlsplit

from .. import event as event_module
from .._json import dumps_str, loads
from ..errors import BackendError, ConfigError
from ..event import Event, format_timestamp, parse_timestamp
from .file import float_option, url_options

__all__ = [
    "DEFAULT_TIMEOUT",
    "PAGE_SIZE",
    "SCHEMA",
    "SCHEMA_VERSION",
    "SQLiteBackend",
    "connect",
    "read_events",
]

_log = logging.getLogger("convsdk.backends.sqlite")

DEFAULT_TIMEOUT = 5.0
SCHEMA_VERSION = 2
SCHEMA = """\
CREATE TABLE IF NOT EXISTS convsdk_events (
  event_id       TEXT NOT NULL PRIMARY KEY,
  name           TEXT NOT NULL,
  kind           TEXT,              -- 'micro' | 'macro' | NULL
  goal           TEXT,
  value          REAL,
  currency       TEXT,
  transaction_id TEXT,
  timestamp      TEXT NOT NULL,     -- ISO-8601 UTC with microseconds: sorts as text
  visitor_id     TEXT,
  session_id     TEXT,
  user_id        TEXT,
  properties     TEXT NOT NULL,     -- JSON
  context        TEXT NOT NULL      -- JSON
);
CREATE INDEX IF NOT EXISTS convsdk_events_timestamp ON convsdk_events (timestamp);
"""
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

# The page size of new databases (SQLite's default is 4 KiB). Measured: 16 KiB pages
# take batches of 1,000 rows ~5% faster (fewer pages to split, shallower trees);
# 8 KiB and 32 KiB do no better.
PAGE_SIZE = 16384
# The WAL is merged into the database (checkpointed: under synchronous=NORMAL the one
# step that waits for the disk) once it holds about this much, whatever the page
# size. Measured: +4% events/s over 16 MiB, +10% over SQLite's 4 MiB. The WAL file is
# cut back to this size after a checkpoint (journal_size_limit) and removed on close.
_WAL_CHECKPOINT_BYTES = 64 * 1024 * 1024

_COLUMNS = (
    "event_id, name, kind, goal, value, currency, transaction_id, timestamp, "
    "visitor_id, session_id, user_id, properties, context"
)
_ROW = f"({', '.join('?' * 13)})"
_INSERT = f"INSERT OR IGNORE INTO convsdk_events ({_COLUMNS}) VALUES {_ROW}"
# Rows a statement inserts: each execution of a statement opens its cursors and seeks
# afresh, so 25 rows a statement take a batch ~25% faster through SQLite than one.
# 25 x 13 parameters stay far below SQLite's oldest limit of 999.
_PER_INSERT = 25
_INSERT_MANY = f"INSERT OR IGNORE INTO convsdk_events ({_COLUMNS}) VALUES " + ", ".join(
    [_ROW] * _PER_INSERT
)
_MEMORY = ":memory:"
# Bound in place of None: SQLite stores a NaN as NULL (sqlite3_bind_double), and the
# sqlite3 module binds a float directly, where None first goes through its adapter
# lookup (~0.3 µs a parameter: a page view has six NULL columns).
_NULL = math.nan
_FETCH = 1000
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
    if target != _MEMORY:
        os.makedirs(os.path.dirname(os.path.abspath(target)), exist_ok=True)
    conn = sqlite3.connect(target, timeout=timeout, isolation_level=None, check_same_thread=False)
    try:
        # Before anything else: setting the journal mode creates the file, and with it
        # its page size (an existing database keeps its own; this is then a no-op).
        conn.execute(f"PRAGMA page_size={PAGE_SIZE}")
        mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        if str(mode).lower() != "wal" and target != _MEMORY:
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
    except Exception:
        conn.close()
        raise
    return conn


class SQLiteBackend:
    """Store events in the ``convsdk_events`` table of a SQLite database.

    >>> backend = SQLiteBackend("convsdk.db")            # or from_url("sqlite:///convsdk.db")
    >>> backend.write([event])
    >>> list(backend.read(since="2025-06-01"))
    [Event(name='purchase', ...)]

    The connection is opened on the first :meth:`write`, in the writing (dispatcher)
    thread. A :meth:`write` after :meth:`close` opens it again (an in-memory database
    then starts empty).
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
        self.path = target if target == _MEMORY else os.path.abspath(target)
        self.timeout = float_option("timeout", timeout)
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()
        self._pid = os.getpid()

    @classmethod
    def from_url(cls, url: str, **options: Any) -> SQLiteBackend:
        """Build from ``sqlite:///relative.db``, ``sqlite:////absolute.db`` or ``sqlite://:memory:``.

        The one option, ``timeout`` (seconds to wait for another writer's lock), may be
        a query parameter or a keyword; a bad or unknown one raises
        :class:`convsdk.ConfigError` naming it.
        """
        parts = urlsplit(url)
        opts = url_options(parts.query, options, {"timeout"}, url)
        kwargs: dict[str, Any] = {}
        if "timeout" in opts:
            kwargs["timeout"] = float_option("timeout", opts["timeout"], url)
        return cls(_path_from_url(url), **kwargs)

    def __repr__(self) -> str:
        return f"SQLiteBackend({self.path!r}, timeout={self.timeout})"

    def write(self, events: Sequence[Event]) -> None:
        """Insert the batch in one transaction, ignoring events already stored.

        Raises :class:`convsdk.BackendError` (``backend="sqlite"``); ``retryable`` is
        false only for errors a resend cannot fix. An event that cannot be serialised
        is logged and left out; the rest are stored.
        """
        rows = _rows(events)
        if not rows:
            return
        self._after_fork()
        if not self._lock.acquire(timeout=self.timeout + _LOCK_SLACK):
            raise BackendError(f"{self.path} is busy (closing)", backend="sqlite")
        try:
            conn = self._conn if self._conn is not None else self._open_locked()
            if conn.in_transaction:
                conn.execute("ROLLBACK")  # left open by an interrupted write
            # IMMEDIATE takes the write lock up front, so waiting for another writer
            # happens here, under busy_timeout, not as a deadlock on upgrade.
            conn.execute("BEGIN IMMEDIATE")
            try:
                whole = len(rows) - len(rows) % _PER_INSERT
                conn.executemany(
                    _INSERT_MANY,
                    (
                        tuple(chain.from_iterable(rows[i : i + _PER_INSERT]))
                        for i in range(0, whole, _PER_INSERT)
                    ),
                )
                conn.executemany(_INSERT, rows[whole:])
                conn.execute("COMMIT")
            except Exception:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
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
        if self.path != _MEMORY:
            return read_events(self.path, since=since, until=until)
        # An in-memory database exists only on this connection, and is in memory anyway.
        sql, params = _select(since, until)
        if not self._lock.acquire(timeout=self.timeout + _LOCK_SLACK):
            raise BackendError("the in-memory database is busy", backend="sqlite")
        try:
            rows = [] if self._conn is None else self._conn.execute(sql, params).fetchall()
        finally:
            self._lock.release()
        return (_event(row) for row in rows)

    def close(self) -> None:
        """Close the connection; safe from any thread."""
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


def read_events(
    path_or_url: str | os.PathLike[str],
    *,
    since: datetime | str | None = None,
    until: datetime | str | None = None,
) -> Iterator[Event]:
    """Stream stored events ordered by timestamp, from ``since`` (inclusive) to ``until``.

    >>> for event in read_events("sqlite:///convsdk.db", since=datetime(2025, 6, 1)):
    ...     print(event.name)

    ``since`` and ``until`` (exclusive) are datetimes (naive means UTC) or ISO-8601
    strings. Rows are fetched through a cursor, a thousand at a time, on a connection
    of the iterator's own, closed when it is exhausted or closed. Raises
    ``FileNotFoundError`` for a database that does not exist.
    """
    if isinstance(path_or_url, str) and path_or_url.lower().startswith("sqlite:"):
        path = _path_from_url(path_or_url)
    else:
        path = os.fspath(path_or_url)
    if path != _MEMORY and not os.path.exists(path):
        raise FileNotFoundError(f"no SQLite database at {path}")
    sql, params = _select(since, until)
    return _stream(path, sql, params)


def _stream(path: str, sql: str, params: list[str]) -> Iterator[Event]:
    conn = connect(path)
    try:
        cursor = conn.execute(sql, params)
        while rows := cursor.fetchmany(_FETCH):
            for row in rows:
                yield _event(row)
    finally:
        conn.close()


def _select(since: datetime | str | None, until: datetime | str | None) -> tuple[str, list[str]]:
    clauses: list[str] = []
    params: list[str] = []
    if since is not None:
        clauses.append("timestamp >= ?")
        params.append(_timestamp_text(since, "since"))
    if until is not None:
        clauses.append("timestamp < ?")
        params.append(_timestamp_text(until, "until"))
    where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
    return f"SELECT {_COLUMNS} FROM convsdk_events{where} ORDER BY timestamp, event_id", params


def _timestamp_text(value: datetime | str, name: str) -> str:
    """The stored form of a bound, so that comparing text compares times."""
    if isinstance(value, str):
        try:
            value = parse_timestamp(value)
        except ValueError as exc:
            raise ValueError(f"{name} is not an ISO-8601 timestamp: {value!r}") from exc
    if not isinstance(value, datetime):
        raise TypeError(f"{name} must be a datetime or an ISO-8601 string")
    return format_timestamp(value)


def _rows(events: Sequence[Event]) -> list[tuple[Any, ...]]:
    """The parameter tuples of ``events``, leaving out (and logging) any that cannot be stored."""
    rows: list[tuple[Any, ...]] = []
    append = rows.append
    # Local names: this loop is most of what a batch costs in Python.
    dumps = dumps_str
    format_ns = event_module.format_ns
    null = _NULL
    for event in events:
        try:
            name = event.name
            if type(name) is not str:
                raise ValueError(f"name must be a string, got {name!r}")
            value = event.value
            if value is None:
                value = null
            elif type(value) is not float:
                value = float(value)
            kind = event.kind
            goal = event.goal
            currency = event.currency
            transaction_id = event.transaction_id
            visitor_id = event.visitor_id
            session_id = event.session_id
            user_id = event.user_id
            # What Event.to_dict() stores, without building the dict: an event made by
            # the tracker carries its clock reading, formatted with the date part cached
            # per second (building a datetime first costs four times as much).
            ts = event._timestamp
            append(
                (
                    event.event_id,
                    name,
                    null if kind is None else kind,
                    null if goal is None else goal,
                    value,
                    null if currency is None else currency,
                    null if transaction_id is None else transaction_id,
                    format_ns(event._ns) if ts is None else format_timestamp(ts),
                    null if visitor_id is None else visitor_id,
                    null if session_id is None else session_id,
                    null if user_id is None else user_id,
                    dumps(event.properties),
                    dumps(event.context),
                )
            )
        except Exception as exc:
            _log.error(
                "event %s (%r) cannot be stored and is dropped: %s",
                event.event_id,
                event.name,
                exc,
            )
    return rows


def _event(row: Sequence[Any]) -> Event:
    return Event(
        row[1],
        event_id=row[0],
        kind=row[2],
        goal=row[3],
        value=row[4],
        currency=row[5],
        transaction_id=row[6],
        timestamp=parse_timestamp(row[7]),
        visitor_id=row[8],
        session_id=row[9],
        user_id=row[10],
        properties=loads(row[11]),
        context=loads(row[12]),
    )


def _path_from_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme.lower() != "sqlite":
        raise ConfigError(f"not a sqlite:// URL: {url!r}", field="backend", source=url)
    if parts.netloc == _MEMORY and parts.path in ("", "/"):
        return _MEMORY
    if parts.netloc:
        raise ConfigError(
            "a sqlite URL has no host: use sqlite:///relative.db, sqlite:////absolute.db "
            "or sqlite://:memory:",
            field="path",
            source=url,
        )
    path = unquote(parts.path[1:] if parts.path.startswith("/") else parts.path)
    if not path:
        raise ConfigError(
            "a sqlite URL needs a database path, e.g. sqlite:///convsdk.db",
            field="path",
            source=url,
        )
    return path
