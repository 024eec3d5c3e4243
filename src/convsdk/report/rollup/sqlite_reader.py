"""The SQLite reader through rollups: whole days from the rollups, the rest from events.

:class:`RollupReader` wraps a :class:`~convsdk.report.sql.SQLiteReader` and reads
through the rollups when the database has them for its table; otherwise (none, stale,
or covering less than half the events) the wrapped reader reads the events.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from urllib.parse import quote

from ...errors import BackendError
from ..sql import SQLiteReader
from .sqlite_schema import Watermark, read_watermark, stale_reason
from .sqlite_source import SQLiteRollups
from .through import ThroughRollups

__all__ = ["RollupReader"]

_log = logging.getLogger("convsdk.report")


class RollupReader(ThroughRollups[SQLiteReader]):
    """Reads a SQLite store through its rollups (see :mod:`convsdk.report.rollup`).

    >>> RollupReader(SQLiteReader("convsdk.db")).read(since=datetime(2026, 1, 1, tzinfo=UTC))
    """

    def open_rollups(self) -> tuple[SQLiteRollups, str] | None:
        """One read transaction on the database's rollups (see
        :meth:`ThroughRollups.open_rollups`)."""
        conn, mark = self._open()
        if conn is None or mark is None:
            return None
        return SQLiteRollups(conn, mark), mark.updated_at

    def failure(self, exc: BaseException) -> BackendError | None:
        """A SQLite error, or a value that is none (a timestamp), as a BackendError."""
        if isinstance(exc, sqlite3.Error | ValueError | TypeError):
            return BackendError(f"cannot read {self.events.path}: {exc}", backend="sqlite")
        return None

    def _open(self) -> tuple[sqlite3.Connection | None, Watermark | None]:
        """A read transaction on the database, and its rollups' watermark if they can be
        read; ``(None, None)`` when the events reader is to read (and tell what is wrong
        with the database, if anything)."""
        path, table = self.events.path, self.events.table
        if not os.path.isfile(path):
            return None, None
        try:
            conn = sqlite3.connect(
                f"file:{quote(path)}?mode=ro",
                uri=True,
                timeout=self.events.timeout,
                isolation_level=None,
            )
        except sqlite3.Error:
            return None, None
        try:
            conn.execute("BEGIN")  # one snapshot: rollups, watermark and events agree
            mark = read_watermark(conn)
            why = None if mark is None else self._unusable(conn, mark, table)
        except sqlite3.Error:
            why, mark = "unreadable", None
        if mark is None or why is not None:
            if why is not None:
                _log.info("%s: rollups not used: %s", self.source, why)
            conn.close()
            return None, None
        return conn, mark

    @staticmethod
    def _unusable(conn: sqlite3.Connection, mark: Watermark, table: str) -> str | None:
        """Why the rollups are not to be read; ``None`` when they are."""
        reason = stale_reason(conn, mark, table)
        if reason is not None:
            return f"{reason} (convsdk rollup --rebuild makes them again)"
        (last,) = conn.execute(f'SELECT MAX(rowid) FROM "{table}"').fetchone()
        if last is not None and last - mark.rowid > mark.rowid:
            # Folding events in Python is slower than the SQLite reader's queries.
            return "more events came after them than they hold (run convsdk rollup)"
        return None
