"""The SQLite reader through rollups: whole days from the rollups, the rest from events.

:class:`RollupReader` wraps a :class:`~convsdk.report.sql.SQLiteReader` and reads
through the rollups when the database has them for its table; otherwise (none, stale,
or covering less than half the events) the wrapped reader reads the events.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from collections.abc import Collection, Mapping
from datetime import datetime
from urllib.parse import quote

from ...errors import BackendError
from ..dataset import Dataset
from ..progress import ProgressCallback
from ..sql import SQLiteReader
from .assemble import Assembly
from .sqlite_schema import Watermark, read_watermark, stale_reason
from .sqlite_source import SQLiteRollups

__all__ = ["RollupReader"]

_log = logging.getLogger("convsdk.report")


class RollupReader:
    """Reads a SQLite store through its rollups (see :mod:`convsdk.report.rollup`).

    >>> RollupReader(SQLiteReader("convsdk.db")).read(since=datetime(2026, 1, 1, tzinfo=UTC))
    """

    def __init__(self, events: SQLiteReader) -> None:
        self.events = events
        """The reader of the events, for what the rollups cannot answer."""
        self.source = events.source

    def read(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        step_goals: Collection[str] = (),
        progress: ProgressCallback | None = None,
        goal_kinds: Mapping[str, str] | None = None,
        include_bots: bool = False,
    ) -> Dataset:
        """Summarise the events of the range (see :class:`~convsdk.report.reader.Reader`);
        the same summaries as the SQLite reader's, people handed over as a stream."""
        conn, mark = self._open()
        if conn is None or mark is None:
            return self.events.read(
                since=since,
                until=until,
                step_goals=step_goals,
                progress=progress,
                goal_kinds=goal_kinds,
                include_bots=include_bots,
            )
        _log.info("%s: read from rollups up to %s", self.source, mark.updated_at)
        source = SQLiteRollups(conn, mark)
        assembly = Assembly(source, step_goals, goal_kinds or {}, include_bots, progress)
        try:
            return assembly.dataset(since, until)
        except (sqlite3.Error, ValueError, TypeError) as exc:  # a timestamp that is none
            conn.close()
            raise BackendError(f"cannot read {self.events.path}: {exc}", backend="sqlite") from exc
        except BaseException:
            conn.close()
            raise

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
