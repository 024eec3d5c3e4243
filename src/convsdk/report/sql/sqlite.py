"""The SQLite reader: the embedded store, read-only while a tracker may keep writing.

Everything is read in one read transaction, one snapshot of the events however long
the report takes (WAL readers never block the writer): the totals first, then the
per-visitor aggregates into temporary tables on disk, from which the people are
streamed in visitor-id order (:mod:`~convsdk.report.stream`) while the report counts them; the
connection closes when the stream ends or is dropped.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import quote

from ..._json import dumps_str, loads
from ...errors import BackendError, ConfigError
from ..dataset import Dataset, text_micros
from ..people import groups, kept_links
from ..progress import ProgressCallback, report_progress
from ..rules import crawler, utm_of, variant_text
from ..stream import (
    ArrivalRow,
    ConversionRow,
    PeopleMerge,
    VisitorRow,
    anonymous_goals,
    closing_stream,
    count_bots,
    set_totals,
    told,
)
from .options import DEFAULT_TABLE, SQLITE_BUSY_TIMEOUT, split_options, table_name
from .sqlite_queries import (
    STREAMS,
    TEMP_QUERIES,
    TEMP_TABLES,
    has_rowid,
    keyed_value,
    narrow,
    range_condition,
    sqlite_queries,
)

__all__ = ["SQLiteReader"]


class SQLiteReader:
    """Reads a convsdk SQLite database (read-only; a running tracker may keep writing).

    >>> SQLiteReader("convsdk.db").read(since=datetime(2026, 11, 1, tzinfo=UTC))
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        table: str = DEFAULT_TABLE,
        timeout: float = SQLITE_BUSY_TIMEOUT,
        source: str | None = None,
    ) -> None:
        self.path = os.path.abspath(os.fspath(path))
        self.table = table_name(table, source or self.path, schema=False)
        self.timeout = timeout
        self.source = source or f"sqlite:///{os.fspath(path)}"

    @classmethod
    def from_url(cls, url: str) -> SQLiteReader:
        """``sqlite:///relative.db`` or ``sqlite:////absolute.db``, ``?table=`` optional."""
        from ...backends.sqlite import SQLiteBackend

        rest, ours = split_options(url, ("table",))
        backend = SQLiteBackend.from_url(rest)
        if backend.path == ":memory:":
            raise ConfigError(
                "an in-memory database has nothing to report", field="source", source=url
            )
        table = table_name(ours.get("table", DEFAULT_TABLE), url, schema=False)
        return cls(backend.path, table=table, timeout=backend.timeout, source=url)

    def _connect(self) -> sqlite3.Connection:
        if not os.path.isfile(self.path):
            raise ConfigError("no SQLite database here", field="source", source=self.path)
        uri = f"file:{quote(self.path)}?mode=ro"
        try:
            # The people may be read, and the connection closed, after read() returns:
            # by then in another thread, for all this reader knows.
            conn = sqlite3.connect(
                uri,
                uri=True,
                timeout=self.timeout,
                isolation_level=None,
                check_same_thread=False,
            )
        except sqlite3.Error as exc:
            raise BackendError(f"cannot open {self.path}: {exc}", backend="sqlite") from exc
        try:
            found = conn.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (self.table,)
            ).fetchone()
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise ConfigError(
                f"not a SQLite database ({exc})", field="source", source=self.path
            ) from exc
        if found is None:
            conn.close()
            raise ConfigError(
                f"no {self.table} table in this database", field="table", source=self.path
            )
        return conn

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
        """Summarise the events of the range (see :class:`Reader`); the people are a
        :class:`~convsdk.report.dataset.VisitorStream`, read from the database as the
        report counts them."""
        from ...event import format_timestamp

        params = [format_timestamp(moment) for moment in (since, until) if moment is not None]
        conn = self._connect()
        try:
            queries = _Queries(conn, self.path, params, progress)
            queries.begin(f'"{self.table}"', since, until, len(step_goals))
            return _summarise(queries, step_goals, goal_kinds or {}, include_bots)
        except BaseException:
            conn.close()
            raise


class _Queries:
    """Runs the reader's queries in one read transaction, telling ``progress`` how far."""

    def __init__(
        self,
        conn: sqlite3.Connection,
        path: str,
        params: list[str],
        progress: ProgressCallback | None,
    ) -> None:
        self.conn = conn
        self.path = path
        self.params = params
        self.progress = progress
        self.queries: dict[str, str] = {}
        self.cursors: list[sqlite3.Cursor] = []
        self.done = 0
        self.total = 1

    def begin(self, table: str, since: datetime | None, until: datetime | None, steps: int) -> None:
        """Open the transaction, make the temporary tables, choose the queries (through
        the index or not)."""
        try:
            # On disk: they hold a row or more per visitor.
            self.conn.execute("PRAGMA temp_store = FILE")
            for statement in TEMP_TABLES:
                self.conn.execute(statement)
            # One read transaction: every query sees the same events, even while a
            # tracker keeps writing (WAL readers never block the writer).
            self.conn.execute("BEGIN")
            indexed = narrow(self.conn, table, since, until)
            rowid = has_rowid(self.conn, table)
        except sqlite3.Error as exc:
            raise self.error(exc) from exc
        self.queries = sqlite_queries(
            table,
            range_condition(since, until, indexed=True),
            range_condition(since, until, indexed=indexed),
            steps,
            rowid,
        )
        self.total = len(self.queries) + len(TEMP_QUERIES) + 1  # and the people

    def run(self, name: str, extra: Sequence[Any] = ()) -> sqlite3.Cursor:
        """Run the query called ``name`` (of the table, or of the temporary tables);
        its rows are small enough to fetch at once."""
        report_progress(self.progress, f"querying {name}", self.done, self.total)
        try:
            if name in TEMP_QUERIES:
                cursor = self.conn.execute(TEMP_QUERIES[name], extra)
            else:
                cursor = self.conn.execute(self.queries[name], [*self.params, *extra])
        except sqlite3.Error as exc:
            raise self.error(exc) from exc
        self.done += 1
        report_progress(self.progress, f"querying {name}", self.done, self.total)
        return cursor

    def fill(self, statement: str, rows: Iterable[Sequence[Any]]) -> None:
        """Put ``rows`` into a temporary table."""
        try:
            self.conn.executemany(statement, rows)
        except sqlite3.Error as exc:
            raise self.error(exc) from exc

    def rows(self, name: str) -> Iterator[Any]:
        """The rows of the stream called ``name``, read as they are asked for."""
        try:
            cursor = self.conn.execute(STREAMS[name])
            self.cursors.append(cursor)
            # Not "yield from", which would close the cursor when a stream dropped
            # halfway is collected: after the connection, an error (close() closes both).
            for row in cursor:  # noqa: UP028
                yield row
        except sqlite3.Error as exc:
            raise self.error(exc) from exc

    def people(self, visitors: int) -> Iterator[Any]:
        """The rows of the ``visitors`` visitors, telling ``progress`` how many were read."""
        yield from told(self.rows("people"), self.progress, self.done, self.total, visitors)
        self.done += 1

    def close(self) -> None:
        """End the transaction: close the streams' cursors, then the connection (once;
        a second call does nothing)."""
        cursors, self.cursors = self.cursors, []
        for cursor in cursors:
            cursor.close()
        self.conn.close()

    def error(self, exc: sqlite3.Error) -> BackendError:
        """What the reader raises for ``exc``."""
        return BackendError(f"cannot read {self.path}: {exc}", backend="sqlite")


def _summarise(
    queries: _Queries,
    step_goals: Collection[str],
    goal_kinds: Mapping[str, str],
    include_bots: bool,
) -> Dataset:
    """Run the queries in order; the dataset's people stream from what they leave in the
    temporary tables."""
    ((events, first, last),) = queries.run("totals", queries.params * 2).fetchall()
    ((anonymous, anonymous_plain, server, server_users),) = queries.run("anonymous").fetchall()
    visitors = queries.run("first events").rowcount
    queries.run("conversions", sorted(step_goals))
    kinds: dict[str, str] = dict(queries.run("kinds").fetchall())
    dataset = Dataset(visitors=())
    set_totals(
        dataset,
        events,
        text_micros(first) if first else None,
        text_micros(last) if last else None,
        (anonymous, anonymous_plain, server, server_users),
        kinds,
    )
    dataset.anonymous_goals = anonymous_goals(
        _conversion_rows(queries.run("anonymous goals").fetchall())
    )
    bots = count_bots(queries.run("bots"))  # a row per user agent, read one at a time
    dataset.bot_visitors = 0 if include_bots else bots
    # The links come before the touches: they count up to the person's first macro
    # conversion, on every device of the person.
    links = queries.run("links").fetchall()
    dataset.links = kept_links(links, _kept(queries, links, include_bots))
    _person_macro(queries, {**kinds, **goal_kinds}, groups(dataset.links))
    queries.run("need variant")
    queries.run("touches")
    merge = PeopleMerge(dataset.links, {v for v, _ in links}, include_bots)
    people = merge.people(
        _visitor_rows(queries.people(visitors)),
        _conversion_rows(queries.rows("conversion rows")),
        _arrival_rows(queries.rows("arrivals")),
    )
    dataset.visitors = closing_stream(people, queries.close)
    return dataset


def _kept(queries: _Queries, links: Iterable[tuple[str, object]], include_bots: bool) -> set[str]:
    """The linked visitor ids that are not left out as bots."""
    linked = sorted({visitor_id for visitor_id, _ in links})
    rows = queries.run("linked agents", [dumps_str(linked)]).fetchall()
    return {v for v, agent in rows if include_bots or not crawler(agent)}


def _person_macro(queries: _Queries, kinds: Mapping[str, str], people: list[list[str]]) -> None:
    """Give every converter their limit for touches: their first macro conversion, and
    every visitor id of a person who converted, the person's."""
    macro = sorted(goal for goal, kind in kinds.items() if kind == "macro")
    queries.run("macro", [dumps_str(macro)])
    queries.fill(
        "INSERT INTO temp.convsdk_report_person VALUES (?, ?)",
        ((visitor_id, person) for person, ids in enumerate(people) for visitor_id in ids),
    )
    queries.run("person macro")


def _visitor_rows(rows: Iterable[Any]) -> Iterator[VisitorRow]:
    """The people stream's rows as :class:`VisitorRow`."""
    for row in rows:
        visitor_id, key, referrer, url, variant, user_agent, utm = row[:7]
        first_utm, last_utm, later_variant = row[7:]
        first_seen = text_micros(key.split(" ", 1)[0])
        exposed = None
        if variant is not None:
            variant, exposed = variant_text(variant), first_seen
        elif later_variant is not None:
            # Only visitors whose first event has no variant are searched for one: the
            # variant is usually on every event, and sorting them all is the slow part.
            variant = keyed_value(later_variant)
            exposed = text_micros(later_variant.split(" ", 1)[0])
        first_touch = last_touch = touch_times = None
        if first_utm is not None:
            first_touch = utm_of(loads(keyed_value(first_utm)))
            last_touch = utm_of(loads(keyed_value(last_utm)))
            touch_times = (
                text_micros(first_utm.split(" ", 1)[0]),
                text_micros(last_utm.split(" ", 1)[0]),
            )
        landing = loads(utm) if utm and utm.startswith("{") else None
        yield VisitorRow(
            visitor_id,
            first_seen,
            referrer,
            url,
            user_agent,
            landing,
            variant,
            exposed,
            first_touch,
            last_touch,
            touch_times,
        )


def _conversion_rows(rows: Iterable[Any]) -> Iterator[ConversionRow]:
    """The conversion rows with their times (text) as microseconds."""
    for visitor_id, goal, kind, currency, count, first_ts, revenue, times, last in rows:
        stamps = sorted(text_micros(t) for t in times.split(",")) if times else None
        first = text_micros(first_ts)
        yield visitor_id, goal, kind, currency, count, first, revenue, stamps, text_micros(last)


def _arrival_rows(rows: Iterable[Any]) -> Iterator[ArrivalRow]:
    """A converter's possible arrivals, from the JSON list of each."""
    for visitor_id, found in rows:
        for moment, utm, referrer, url in loads(found):
            landing = utm if isinstance(utm, dict) else None
            yield visitor_id, text_micros(moment), landing, referrer, url
