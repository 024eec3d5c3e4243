"""``postgresql://``: events in a PostgreSQL table (extra ``postgres``).

::

    postgresql://user:password@db.internal:5432/analytics?table=convsdk_events

The query string may carry ``table`` (default ``convsdk_events``, optionally
``schema.table``) and ``statement_timeout`` (seconds, default 30); everything else is a
libpq connection parameter (``sslmode``, ``application_name``, ``connect_timeout``...).
The table and its indexes are created on first use, or up front with :func:`migrate`
(``convsdk migrate URL``). The columns are those of the SQLite backend, so one report
reader works on both::

    event_id TEXT PRIMARY KEY, name TEXT NOT NULL, kind TEXT, goal TEXT,
    value DOUBLE PRECISION, currency TEXT, transaction_id TEXT, timestamp TIMESTAMPTZ NOT NULL,
    visitor_id TEXT, session_id TEXT, user_id TEXT, properties JSONB NOT NULL,
    context JSONB NOT NULL
    -- indexed on (timestamp), (visitor_id, timestamp), (goal, timestamp) WHERE goal IS NOT NULL

A batch is one transaction: it is stored whole or not at all, and a batch sent again
(after a failure whose outcome was unknown) is stored once. The connection is opened
lazily by the thread that writes and replaced after a connection error; the batch in
flight then fails with a retryable :class:`~convsdk.BackendError` for the dispatcher to
send again.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict
from psycopg.types.json import set_json_loads

from .._json import dumps_str, loads
from .._urls import check_userinfo, redact_url
from ..errors import BackendError, ConfigError
from ..event import FIELDS, Event

__all__ = ["COLUMNS", "DEFAULT_TABLE", "PostgresBackend", "migrate", "read_events"]

logger = logging.getLogger("convsdk.postgres")

DEFAULT_TABLE = "convsdk_events"
COLUMNS = FIELDS

# 48 characters leave room for the index-name suffixes within PostgreSQL's 63-byte limit.
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,47}\Z")
_BACKEND = "postgresql"
_OUR_OPTIONS = ("table", "statement_timeout")

# libpq settings added unless the URL says otherwise: fail fast on a dead server, and
# notice a silently vanished peer instead of waiting on the socket forever.
_CONNECTION_DEFAULTS = {
    "connect_timeout": "10",
    "application_name": "convsdk",
    "keepalives": "1",
    "keepalives_idle": "30",
    "keepalives_interval": "10",
    "keepalives_count": "3",
}
if psycopg.pq.version() >= 120000:  # libpq 12 added it
    _CONNECTION_DEFAULTS["tcp_user_timeout"] = "30000"

_Row = tuple[Any, ...]


class _Settings:
    """A parsed URL: libpq connection string, table and statement timeout."""

    __slots__ = ("conninfo", "source", "statement_timeout", "table")

    def __init__(self, url: str, options: Mapping[str, Any]) -> None:
        check_userinfo(url)
        parts = urlsplit(url)
        if parts.scheme not in ("postgresql", "postgres"):
            raise ConfigError(
                "a PostgreSQL URL starts with postgresql://",
                field="backend",
                source=redact_url(url),
            )
        ours: dict[str, Any] = {}
        libpq: list[tuple[str, str]] = []
        for key, value in parse_qsl(parts.query, keep_blank_values=True):
            if key in _OUR_OPTIONS:
                ours[key] = value
            else:
                libpq.append((key, value))
        ours.update(options)
        self.source = redact_url(url)
        self.table = _check_table(ours.get("table", DEFAULT_TABLE), self.source)
        self.statement_timeout = _check_timeout(ours.get("statement_timeout", 30.0), self.source)
        present = {key for key, _ in libpq}
        libpq.extend((k, v) for k, v in _CONNECTION_DEFAULTS.items() if k not in present)
        conninfo = urlunsplit(parts._replace(query=urlencode(libpq, quote_via=quote)))
        try:
            conninfo_to_dict(conninfo)
        except psycopg.Error as exc:
            raise ConfigError(str(exc), field="backend", source=self.source) from exc
        self.conninfo = conninfo

    def connect(self, *, autocommit: bool) -> psycopg.Connection[Any]:
        """Open a connection; ``statement_timeout`` bounds every statement server-side."""
        conn = psycopg.connect(self.conninfo, autocommit=autocommit)
        try:
            conn.execute(
                sql.SQL("SET statement_timeout = {}").format(
                    sql.Literal(int(self.statement_timeout * 1000))
                )
            )
            if not autocommit:
                conn.commit()
        except Exception:
            conn.close()
            raise
        return conn


def _check_table(value: Any, source: str) -> tuple[str, ...]:
    parts = value.split(".") if isinstance(value, str) else []
    if not 1 <= len(parts) <= 2 or not all(_IDENTIFIER.match(p) for p in parts):
        raise ConfigError(
            "table must be a name of letters, digits and underscores (at most 48, not "
            f"starting with a digit), optionally schema-qualified, got {value!r}",
            field="table",
            source=source,
        )
    return tuple(parts)


def _check_timeout(value: Any, source: str) -> float:
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        seconds = -1.0
    if not 0 < seconds < 86_400:
        raise ConfigError(
            f"statement_timeout must be a number of seconds, got {value!r}",
            field="statement_timeout",
            source=source,
        )
    return seconds


# -- schema ---------------------------------------------------------------------------


def _create_schema(conn: psycopg.Connection[Any], table: tuple[str, ...]) -> None:
    """Create the table and indexes if missing; safe to run from many processes at once."""
    ident = sql.Identifier(*table)
    base = table[-1]
    statements = [
        # Concurrent CREATE ... IF NOT EXISTS can still collide in the catalog: serialise.
        sql.SQL("SELECT pg_advisory_xact_lock(hashtext({}))").format(
            sql.Literal("convsdk.migrate:" + ".".join(table))
        ),
        sql.SQL(
            "CREATE TABLE IF NOT EXISTS {} ("
            "event_id TEXT PRIMARY KEY, name TEXT NOT NULL, kind TEXT, goal TEXT, "
            "value DOUBLE PRECISION, currency TEXT, transaction_id TEXT, "
            "timestamp TIMESTAMPTZ NOT NULL, visitor_id TEXT, session_id TEXT, user_id TEXT, "
            "properties JSONB NOT NULL, context JSONB NOT NULL)"
        ).format(ident),
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


# -- the backend ----------------------------------------------------------------------


class PostgresBackend:
    """Store events in a PostgreSQL table; build it with :meth:`from_url`.

    >>> backend = PostgresBackend.from_url("postgresql://app@db/analytics?table=events")
    >>> tracker = convsdk.Tracker(backend=backend)

    A batch is written with ``COPY`` straight into the table, in one transaction. When
    that fails on a duplicate ``event_id`` (a batch sent again), it is written through a
    temporary table with ``INSERT ... ON CONFLICT (event_id) DO NOTHING`` instead, so
    every event is stored exactly once.
    """

    def __init__(
        self,
        url: str = "postgresql://localhost/postgres",
        *,
        table: str | None = None,
        statement_timeout: float | None = None,
    ) -> None:
        given = {"table": table, "statement_timeout": statement_timeout}
        self._settings = _Settings(url, {k: v for k, v in given.items() if v is not None})
        table_ident = sql.Identifier(*self._settings.table)
        columns = sql.SQL(", ").join(map(sql.Identifier, COLUMNS))
        self._copy = sql.SQL("COPY {} ({}) FROM STDIN").format(table_ident, columns)
        self._make_stage = sql.SQL(
            "CREATE TEMP TABLE IF NOT EXISTS convsdk_stage (LIKE {}) ON COMMIT DELETE ROWS"
        ).format(table_ident)
        self._stage_copy = sql.SQL("COPY convsdk_stage ({}) FROM STDIN").format(columns)
        self._merge = sql.SQL(
            "INSERT INTO {} ({}) SELECT {} FROM convsdk_stage ON CONFLICT (event_id) DO NOTHING"
        ).format(table_ident, columns, columns)
        self._lock = threading.Lock()
        self._conn: psycopg.Connection[Any] | None = None
        self._pid = os.getpid()
        self._schema_ready = False
        self._stage_ready = False
        self._closed = False

    @classmethod
    def from_url(cls, url: str, **options: Any) -> PostgresBackend:
        """Build from ``postgresql://user@host:port/db?table=...``; keyword options win."""
        unknown = sorted(set(options) - set(_OUR_OPTIONS))
        if unknown:
            raise ConfigError(
                f"unknown option(s) {', '.join(unknown)}; known: {', '.join(_OUR_OPTIONS)}",
                field=unknown[0],
                source=redact_url(url),
            )
        return cls(url, **options)

    @property
    def table(self) -> str:
        """The (possibly schema-qualified) table events go to."""
        return ".".join(self._settings.table)

    def migrate(self) -> None:
        """Create the table and its indexes now, if missing (idempotent).

        Raises :class:`~convsdk.BackendError` when the server cannot be reached.
        """
        with self._lock:
            self._check_open()
            self._schema_ready = False
            self._connection()

    def write(self, events: Sequence[Event]) -> None:
        """Store the batch in one transaction; a batch sent again is stored once."""
        if not events:
            return
        try:
            rows = _rows(events)
        except (TypeError, ValueError) as exc:
            raise BackendError(
                f"an event cannot be serialised: {exc}", backend=_BACKEND, retryable=False
            ) from exc
        with self._lock:
            self._check_open()
            conn = self._connection()
            try:
                try:
                    self._store(conn, rows)
                except psycopg.DataError:
                    # NUL characters are the one thing valid events carry that
                    # PostgreSQL refuses (in text and in jsonb): replace and try once more.
                    clean = [_scrub(row) for row in rows]
                    if clean == rows:
                        raise
                    logger.warning("replaced NUL characters PostgreSQL cannot store")
                    self._store(conn, clean)
            except psycopg.Error as exc:
                raise self._failure(exc) from exc

    def close(self) -> None:
        """Close the connection; later writes fail."""
        with self._lock:
            self._closed = True
            self._drop_connection()

    # -- internals --------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise BackendError("the backend is closed", backend=_BACKEND, retryable=False)
        if os.getpid() != self._pid:
            # A forked child must not talk over its parent's socket: forget it, unclosed.
            self._pid = os.getpid()
            self._conn = None

    def _connection(self) -> psycopg.Connection[Any]:
        conn = self._conn
        if conn is None or conn.closed:
            try:
                conn = self._settings.connect(autocommit=True)
            except psycopg.Error as exc:
                raise BackendError(
                    f"cannot connect to {self._settings.source}: {_first_line(exc)}",
                    backend=_BACKEND,
                ) from exc
            self._conn = conn
            self._stage_ready = False
        if not self._schema_ready:
            try:
                _create_schema(conn, self._settings.table)
            except psycopg.Error as exc:
                raise self._failure(exc) from exc
            self._schema_ready = True
        return conn

    def _store(self, conn: psycopg.Connection[Any], rows: list[_Row]) -> None:
        try:
            with conn.transaction(), conn.cursor() as cur, cur.copy(self._copy) as copy:
                for row in rows:
                    copy.write_row(row)
        except psycopg.errors.UniqueViolation:
            # A batch sent again: COPY cannot skip duplicates, INSERT ... ON CONFLICT can.
            with conn.transaction(), conn.cursor() as cur:
                if not self._stage_ready:
                    cur.execute(self._make_stage)
                    self._stage_ready = True
                with cur.copy(self._stage_copy) as copy:
                    for row in rows:
                        copy.write_row(row)
                cur.execute(self._merge)
                logger.debug("batch of %d had %d duplicates", len(rows), len(rows) - cur.rowcount)

    def _failure(self, exc: psycopg.Error) -> BackendError:
        """Turn a psycopg error into a BackendError; forget a connection that broke."""
        conn = self._conn
        if isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError) or (
            conn is not None and (conn.broken or conn.closed)
        ):
            self._drop_connection()
            logger.warning("PostgreSQL connection lost (%s); reconnecting", _first_line(exc))
            return BackendError(f"connection lost: {_first_line(exc)}", backend=_BACKEND)
        if isinstance(exc, psycopg.errors.UndefinedTable):
            self._schema_ready = False  # dropped under us: create it again on the retry
            self._stage_ready = False
        retryable = not isinstance(exc, psycopg.DataError | psycopg.IntegrityError)
        return BackendError(_first_line(exc), backend=_BACKEND, retryable=retryable)

    def _drop_connection(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except Exception:  # closing a broken connection may fail; it is gone either way
                logger.debug("error closing a PostgreSQL connection", exc_info=True)


def _rows(events: Sequence[Event]) -> list[_Row]:
    return [
        (
            e.event_id,
            e.name,
            e.kind,
            e.goal,
            e.value,
            e.currency,
            e.transaction_id,
            e.timestamp,
            e.visitor_id,
            e.session_id,
            e.user_id,
            dumps_str(e.properties),
            dumps_str(e.context),
        )
        for e in events
    ]


def _scrub(row: _Row) -> _Row:
    """The row with NUL characters replaced (U+FFFD) in text and in JSON escapes."""
    out = []
    for value in row[:-2]:
        out.append(value.replace("\x00", "\ufffd") if isinstance(value, str) else value)
    for doc in row[-2:]:
        out.append(dumps_str(_scrub_json(loads(doc))) if "\\u0000" in doc else doc)
    return tuple(out)


def _scrub_json(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, dict):
        return {_scrub_json(k): _scrub_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub_json(v) for v in value]
    return value


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


# -- module functions for tools -------------------------------------------------------


def migrate(url: str) -> None:
    """Create the events table and indexes named by ``url`` if missing (idempotent).

    >>> migrate("postgresql://app@db/analytics?table=convsdk_events")
    """
    backend = PostgresBackend.from_url(url)
    try:
        backend.migrate()
    finally:
        backend.close()


def read_events(
    url: str, *, since: datetime | None = None, until: datetime | None = None
) -> Iterator[Event]:
    """Yield the stored events in timestamp order, ``since <= timestamp < until``.

    Rows stream through a server-side cursor, so memory stays flat on big tables; a
    naive ``since``/``until`` is taken as UTC. Raises :class:`~convsdk.ConfigError` for
    a bad URL or a missing table, :class:`~convsdk.BackendError` when the server fails.

    >>> for event in read_events("postgresql://app@db/analytics", since=last_week):
    ...     print(event.name)
    """
    settings = _Settings(url, {})
    return _read(settings, _aware(since, "since"), _aware(until, "until"))


def _aware(value: datetime | None, field: str) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, datetime):
        raise ConfigError(f"{field} must be a datetime, got {value!r}", field=field)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def _read(settings: _Settings, since: datetime | None, until: datetime | None) -> Iterator[Event]:
    where: list[sql.Composable] = []
    params: list[Any] = []
    if since is not None:
        where.append(sql.SQL("timestamp >= %s"))
        params.append(since)
    if until is not None:
        where.append(sql.SQL("timestamp < %s"))
        params.append(until)
    query = sql.SQL("SELECT {} FROM {}{} ORDER BY timestamp, event_id").format(
        sql.SQL(", ").join(map(sql.Identifier, COLUMNS)),
        sql.Identifier(*settings.table),
        sql.SQL(" WHERE ") + sql.SQL(" AND ").join(where) if where else sql.SQL(""),
    )
    try:
        conn = settings.connect(autocommit=False)
    except psycopg.Error as exc:
        raise BackendError(
            f"cannot connect to {settings.source}: {_first_line(exc)}", backend=_BACKEND
        ) from exc
    with conn:
        set_json_loads(loads, conn)
        conn.execute("SET TIME ZONE 'UTC'")
        try:
            with conn.cursor(name="convsdk_read_events") as cur:
                cur.itersize = 2000
                cur.execute(query, params)
                for row in cur:
                    yield Event(
                        row[1],
                        kind=row[2],
                        goal=row[3],
                        value=row[4],
                        currency=row[5],
                        transaction_id=row[6],
                        timestamp=row[7].astimezone(UTC),
                        visitor_id=row[8],
                        session_id=row[9],
                        user_id=row[10],
                        properties=row[11],
                        context=row[12],
                        event_id=row[0],
                    )
        except psycopg.errors.UndefinedTable as exc:
            raise ConfigError(
                f"table {'.'.join(settings.table)} does not exist (run: convsdk migrate URL)",
                field="table",
                source=settings.source,
            ) from exc
        except psycopg.Error as exc:
            raise BackendError(_first_line(exc), backend=_BACKEND) from exc
