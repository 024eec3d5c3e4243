"""The PostgreSQL reader through rollups: whole days from the rollups, the rest from events.

:class:`PostgresRollupReader` wraps a :class:`~convsdk.report.sql.PostgresReader` and
reads through the rollups when the table has them; otherwise (none, stale, a table
without the ``xid`` column, or more events since than they hold) the wrapped reader
reads the events, in SQL.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from ...errors import BackendError, ConfigError
from ..sql import PostgresReader
from .postgres_schema import Mark, postgres_names, quoted, read_mark, stale_reason
from .postgres_source import PostgresRollups
from .schema import RollupNames
from .through import ThroughRollups

if TYPE_CHECKING:
    import psycopg

__all__ = ["PostgresRollupReader"]

_log = logging.getLogger("convsdk.report")


class PostgresRollupReader(ThroughRollups[PostgresReader]):
    """Reads a PostgreSQL store through its rollups (see :mod:`convsdk.report.rollup`).

    >>> PostgresRollupReader(PostgresReader.from_url("postgresql://db/shop")).read()
    """

    def open_rollups(self) -> tuple[PostgresRollups, str] | None:
        """A read-only repeatable-read transaction on the table's rollups (see
        :meth:`ThroughRollups.open_rollups`)."""
        opened = self._open()
        if opened is None:
            return None
        conn, mark, names = opened
        return PostgresRollups(conn, mark, names, self.events.table), mark.updated_at

    def failure(self, exc: BaseException) -> BackendError | None:
        """A PostgreSQL error, or a value that is none, as a BackendError."""
        import psycopg

        if isinstance(exc, psycopg.Error | ValueError | TypeError):
            return BackendError(f"query failed: {str(exc).strip()}", backend=self.source)
        return None

    def _open(self) -> tuple[psycopg.Connection[Any], Mark, RollupNames] | None:
        """A read-only repeatable-read transaction, the rollups' watermark and names if
        they can be read; ``None`` when the events reader is to read."""
        try:
            names = postgres_names(self.events.table, self.source)
        except ConfigError:  # a name too long to have rollups: there are none
            return None
        conn = self.events.connect()  # psycopg is there once it returns
        import psycopg

        why: str | None
        mark = None
        try:
            conn.read_only = True
            if _has_rollups(conn, names):
                mark = read_mark(conn, names)
            why = None if mark is None else self._unusable(conn, mark, self.events.table)
        except psycopg.Error as exc:
            why, mark = f"unreadable ({str(exc).strip()})", None
        except BaseException:
            conn.close()
            raise
        if mark is None or why is not None:
            if why is not None:
                _log.info("%s: rollups not used: %s", self.source, why)
            conn.close()
            return None
        return conn, mark, names

    @staticmethod
    def _unusable(conn: psycopg.Connection[Any], mark: Mark, table: str) -> str | None:
        """Why the rollups are not to be read; ``None`` when they are."""
        reason = stale_reason(conn, mark, table)
        if reason is not None:
            return f"{reason} (convsdk rollup --rebuild makes them again)"
        row = conn.execute(
            f"SELECT count(*) FROM (SELECT 1 FROM {quoted(table)} "
            "WHERE xid >= pg_snapshot_xmin(%s::pg_snapshot) "
            "AND NOT pg_visible_in_snapshot(xid, %s::pg_snapshot) LIMIT %s) s",
            [mark.snapshot, mark.snapshot, mark.events + 1],
        ).fetchone()
        if row is not None and row[0] > mark.events:
            # Folding events in Python is slower than the PostgreSQL reader's queries.
            return "more events came after them than they hold (run convsdk rollup)"
        return None


def _has_rollups(conn: psycopg.Connection[Any], names: RollupNames) -> bool:
    row = conn.execute("SELECT to_regclass(%s)", [names.watermark]).fetchone()
    return row is not None and row[0] is not None
