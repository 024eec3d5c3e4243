"""The ``postgresql://`` backend: :class:`PostgresBackend` writes each batch with ``COPY``
in one transaction, falling back to ``INSERT ... ON CONFLICT`` for a batch sent again."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Sequence
from typing import Any

import psycopg
from psycopg import sql

from ..._urls import url_key
from ...errors import BackendError
from ...event import Event
from .rows import Row, scrub, to_rows
from .schema import COLUMNS, create_schema
from .settings import BACKEND, Settings, first_line

__all__ = ["PostgresBackend", "migrate"]

logger = logging.getLogger("convsdk.postgres")


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
        self._settings = Settings(url, {k: v for k, v in given.items() if v is not None})
        table_ident = sql.Identifier(*self._settings.table)
        columns = sql.SQL(", ").join(map(sql.Identifier, COLUMNS))
        self._copy = sql.SQL("COPY {} ({}) FROM STDIN").format(table_ident, columns)
        # The event columns only: the table's xid is filled by its default on the merge.
        self._make_stage = sql.SQL(
            "CREATE TEMP TABLE IF NOT EXISTS convsdk_stage ON COMMIT DELETE ROWS "
            "AS SELECT {} FROM {} WITH NO DATA"
        ).format(columns, table_ident)
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
        Settings(url, options)  # names an unknown or bad option, as every backend does
        return cls(url, **options)

    @property
    def destination_key(self) -> str:
        """The key of its spool: the one its URL gives (scheme, host and database)."""
        return url_key(self._settings.source)

    @property
    def table(self) -> str:
        """The (possibly schema-qualified) table events go to."""
        return ".".join(self._settings.table)

    def migrate(self) -> None:
        """Create the table and its indexes now, if missing (idempotent); give a table of
        an earlier version what it lacks (the ``xid`` column and its index, see
        :mod:`.schema`).

        Raises :class:`~convsdk.BackendError` when the server cannot be reached.
        """
        with self._lock:
            self._check_open()
            self._schema_ready = False
            self._connection(upgrade=True)

    def check(self) -> None:
        """Raise :class:`~convsdk.BackendError` unless the server takes events now.

        Connects and creates the table if missing, as the first write would.
        """
        try:
            with self._lock:
                self._check_open()
                self._schema_ready = False
                self._connection()
        except psycopg.Error as exc:
            raise self._failure(exc) from exc

    def write(self, events: Sequence[Event]) -> None:
        """Store the batch in one transaction; a batch sent again is stored once."""
        if not events:
            return
        try:
            rows = to_rows(events)
        except (TypeError, ValueError) as exc:
            raise BackendError(
                f"an event cannot be serialised: {exc}", backend=BACKEND, retryable=False
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
                    clean = [scrub(row) for row in rows]
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
            raise BackendError("the backend is closed", backend=BACKEND, retryable=False)
        if os.getpid() != self._pid:
            # A forked child must not talk over its parent's socket: forget it, unclosed.
            self._pid = os.getpid()
            self._conn = None

    def _connection(self, *, upgrade: bool = False) -> psycopg.Connection[Any]:
        conn = self._conn
        if conn is None or conn.closed:
            try:
                conn = self._settings.connect(autocommit=True)
            except psycopg.Error as exc:
                raise BackendError(
                    f"cannot connect to {self._settings.source}: {first_line(exc)}",
                    backend=BACKEND,
                ) from exc
            self._conn = conn
            self._stage_ready = False
        if not self._schema_ready:
            try:
                create_schema(conn, self._settings.table, upgrade=upgrade)
            except psycopg.Error as exc:
                raise self._failure(exc) from exc
            self._schema_ready = True
        return conn

    def _store(self, conn: psycopg.Connection[Any], rows: list[Row]) -> None:
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
            logger.warning("PostgreSQL connection lost (%s); reconnecting", first_line(exc))
            return BackendError(f"connection lost: {first_line(exc)}", backend=BACKEND)
        if isinstance(exc, psycopg.errors.UndefinedTable):
            self._schema_ready = False  # dropped under us: create it again on the retry
            self._stage_ready = False
        retryable = not isinstance(exc, psycopg.DataError | psycopg.IntegrityError)
        return BackendError(first_line(exc), backend=BACKEND, retryable=retryable)

    def _drop_connection(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except Exception:  # closing a broken connection may fail; it is gone either way
                logger.debug("error closing a PostgreSQL connection", exc_info=True)


def migrate(url: str) -> None:
    """Create the events table and indexes named by ``url`` if missing (idempotent).

    >>> migrate("postgresql://app@db/analytics?table=convsdk_events")
    """
    backend = PostgresBackend.from_url(url)
    try:
        backend.migrate()
    finally:
        backend.close()
