"""The DuckDB reader's database: on disk in a temporary directory, its memory capped.

A table in an in-memory database cannot leave memory, and the log's table holds every
event of the range; in a database file DuckDB keeps in memory only what it works on,
up to :data:`MEMORY_LIMIT`, and spills the rest (of the tables, sorts and groupings)
to the same directory. The directory goes, with the database, when the session is
closed: once the people are read, abandoned, or dropped unread.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ...errors import BackendError
from ..progress import ProgressCallback, report_progress
from ..stream import told
from .queries import QUERIES, STREAMS

if TYPE_CHECKING:
    import duckdb

__all__ = ["BATCH", "MEMORY_LIMIT", "STREAM_MEMORY_LIMIT", "THREADS", "Session"]

#: DuckDB's own memory, over which it spills to disk: with it, a whole report of five
#: million events (half a million visitors) peaked at about 300 MB, DuckDB's part
#: included. With two threads, 128MB was too little to group the visitors; 160MB was
#: enough, with little margin.
MEMORY_LIMIT = "192MB"
#: DuckDB's threads, at most: each needs memory of its own to group and sort (with
#: four threads, 384MB held the whole report to 510 MB), so more cores would need a
#: higher :data:`MEMORY_LIMIT`.
THREADS = 2
#: DuckDB's memory while the people are read: what it cached of the tables goes, the
#: report's own counts take its place.
STREAM_MEMORY_LIMIT = "32MB"
#: Rows fetched at a time from a stream.
BATCH = 5000
# Said on every connection (a local setting): the caller shows its own progress.
_QUIET = "SET enable_progress_bar = false"


class Session:
    """One database in a temporary directory of its own, and the reader's queries on it,
    telling ``progress`` how far they went (the load, every query, then the people).

    ``duckdb`` is the module (imported by the caller, which knows the extra is there);
    ``path`` the log's, for the errors (:class:`convsdk.BackendError`).
    """

    def __init__(self, duckdb: Any, path: Path, progress: ProgressCallback | None) -> None:
        self.directory = tempfile.TemporaryDirectory(prefix="convsdk-report-")
        try:
            conn: duckdb.DuckDBPyConnection = duckdb.connect(
                os.path.join(self.directory.name, "report.duckdb"),
                config={
                    "memory_limit": MEMORY_LIMIT,
                    "threads": min(THREADS, os.cpu_count() or 1),
                    "temp_directory": self.directory.name,
                    "preserve_insertion_order": False,  # rows in any order: less memory
                },
            )
        except BaseException:
            self.directory.cleanup()
            raise
        self.conn = conn
        self.cursors: list[duckdb.DuckDBPyConnection] = []
        self.failure: type[Exception] = duckdb.Error
        self.path = path
        self.progress = progress
        self.done = 0
        self.total = 1 + len(QUERIES) + 1
        try:
            self.setting(_QUIET)
        except BaseException:
            self.close()
            raise

    def load(self, query: str, parameters: Mapping[str, Any]) -> None:
        """Run the query that reads the log into its table."""
        self.execute("reading", query, parameters)

    def run(self, name: str, parameters: Mapping[str, Any] | None = None) -> list[Any]:
        """The rows of the query called ``name`` (few: see :data:`.queries.QUERIES`)."""
        return self.execute(f"querying {name}", QUERIES[name], parameters or {})

    def execute(self, phase: str, query: str, parameters: Mapping[str, Any]) -> list[Any]:
        """The rows of ``query``, as the phase called ``phase`` of the progress."""
        report_progress(self.progress, phase, self.done, self.total)
        try:
            rows: list[Any] = self.conn.execute(query, dict(parameters)).fetchall()
        except self.failure as exc:
            raise self.error(exc) from exc
        self.done += 1
        report_progress(self.progress, phase, self.done, self.total)
        return rows

    def keep_order(self) -> None:
        """From now on, keep the order rows are written in, and read them back in it
        (rows in any order took less memory until then)."""
        self.setting("SET preserve_insertion_order = true")

    def shrink(self) -> None:
        """Hold DuckDB's memory to :data:`STREAM_MEMORY_LIMIT` while the people are read
        (the tables they come from were just written: the rest is gone)."""
        self.setting(f"SET memory_limit = '{STREAM_MEMORY_LIMIT}'")

    def setting(self, statement: str) -> None:
        """Run ``statement``, a ``SET``."""
        try:
            self.conn.execute(statement)
        except self.failure as exc:
            raise self.error(exc) from exc

    def rows(self, name: str) -> Iterator[Any]:
        """The rows of the stream called ``name``, :data:`BATCH` at a time, on a cursor of
        their own (a connection runs one query at a time; the people's streams are read
        side by side)."""
        try:
            cursor = self.conn.cursor()
            self.cursors.append(cursor)
            cursor.execute(_QUIET)
            cursor.execute(STREAMS[name])
            while batch := cursor.fetchmany(BATCH):
                yield from batch
        except self.failure as exc:
            raise self.error(exc) from exc

    def people(self, visitors: int) -> Iterator[Any]:
        """The rows of the ``visitors`` visitors, telling ``progress`` how many were read."""
        yield from told(self.rows("visitors"), self.progress, self.done, self.total, visitors)
        self.done += 1

    def close(self) -> None:
        """Close the cursors and the database, and remove the directory (once; a second
        call does nothing)."""
        cursors, self.cursors = self.cursors, []
        for cursor in cursors:
            cursor.close()
        self.conn.close()
        self.directory.cleanup()

    def error(self, exc: Exception) -> BackendError:
        """What the reader raises for ``exc``, an error of DuckDB's."""
        return BackendError(f"cannot read {self.path}: {exc}", backend="file")
