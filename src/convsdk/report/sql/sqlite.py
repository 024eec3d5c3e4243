"""The SQLite reader: the embedded store, read-only while a tracker may keep writing."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Collection, Container, Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import quote

from ..._json import loads
from ...errors import BackendError, ConfigError
from ..dataset import Dataset, from_micros, text_micros
from ..people import merge_people, person_macro_times
from ..progress import ProgressCallback, report_progress
from ..rules import utm_of, variant_text
from .options import DEFAULT_TABLE, SQLITE_BUSY_TIMEOUT, split_options, table_name
from .sqlite_queries import keyed_value, narrow, range_condition, sqlite_queries
from .visitors import (
    ConversionRow,
    VisitorRows,
    add_conversions,
    add_touchpoints,
    set_totals,
)

__all__ = ["SQLiteReader"]

_PHASES = 6  # totals, anonymous, visitors, conversions, links, touches (and arrivals)


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
            conn = sqlite3.connect(uri, uri=True, timeout=self.timeout, isolation_level=None)
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
        """Summarise the events of the range (see :class:`Reader`)."""
        from ...event import format_timestamp

        params = [format_timestamp(moment) for moment in (since, until) if moment is not None]
        conn = self._connect()
        try:
            queries = _Queries(conn, self.path, params, progress)
            queries.begin(f'"{self.table}"', since, until, len(step_goals))
            return _summarise(queries, step_goals, goal_kinds or {}, include_bots)
        finally:
            conn.close()


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
        self.done = 0

    def begin(self, table: str, since: datetime | None, until: datetime | None, steps: int) -> None:
        """Open the transaction and choose the queries (through the index or not)."""
        try:
            # One read transaction: every query sees the same events, even while a
            # tracker keeps writing (WAL readers never block the writer).
            self.conn.execute("BEGIN")
            indexed = narrow(self.conn, table, since, until)
        except sqlite3.Error as exc:
            raise BackendError(f"cannot read {self.path}: {exc}", backend="sqlite") from exc
        self.queries = sqlite_queries(
            table,
            range_condition(since, until, indexed=True),
            range_condition(since, until, indexed=indexed),
            steps,
        )

    def run(self, name: str, extra: Sequence[Any] = ()) -> list[Any]:
        """The rows of the query called ``name``."""
        report_progress(self.progress, f"querying {name}", self.done, _PHASES)
        try:
            rows = self.conn.execute(self.queries[name], [*self.params, *extra]).fetchall()
        except sqlite3.Error as exc:
            raise BackendError(f"cannot read {self.path}: {exc}", backend="sqlite") from exc
        self.done += 1
        report_progress(self.progress, f"querying {name}", self.done, _PHASES)
        return rows


def _summarise(
    queries: _Queries,
    step_goals: Collection[str],
    goal_kinds: Mapping[str, str],
    include_bots: bool,
) -> Dataset:
    """Run the queries in order and fold their rows into a dataset."""
    ((events, first, last),) = queries.run("totals")
    ((anonymous, anonymous_plain, server, server_users),) = queries.run("anonymous")
    builder = VisitorRows(include_bots)
    need_variant = _visitors(builder, queries.run("visitors"))
    dataset = builder.dataset()
    # No name holds the rows: they are freed once folded, before the touches are read.
    rows = _conversion_rows(queries.run("conversions", sorted(step_goals)))
    kinds = add_conversions(builder, dataset, rows)
    kept = builder.kept()
    # The links come before the touches: they count up to the person's first macro
    # conversion, on every device of the person.
    links = queries.run("links")
    macro = person_macro_times(builder.macro_times({**kinds, **goal_kinds}), links, kept)
    _prepare_touches(queries.conn, macro.items(), need_variant)
    arrivals: list[tuple[str, int, object, object, object]] = []
    _touches(builder, queries.run("touches"), arrivals, {v for v, _ in links})
    add_touchpoints(builder, arrivals)
    set_totals(
        dataset,
        events,
        text_micros(first) if first else None,
        text_micros(last) if last else None,
        (anonymous, anonymous_plain, server, server_users),
        kinds,
    )
    merge_people(dataset, kept, links)
    return dataset


def _visitors(builder: VisitorRows, rows: Iterable[Any]) -> list[tuple[str]]:
    """Start every visitor from their first event; return those it gave no variant."""
    need_variant = []
    for visitor_id, key, referrer, url, variant, user_agent, utm in rows:
        moment = key.split(" ", 1)[0]
        landing = loads(utm) if utm and utm.startswith("{") else None
        summary = builder.first(visitor_id, text_micros(moment), referrer, url, user_agent, landing)
        if variant is None:
            need_variant.append((visitor_id,))
        else:
            summary.variant = variant_text(variant)
            summary.exposed = summary.first_seen
    # Only visitors whose first event has no variant are searched for one: the
    # variant is usually on every event, and sorting them all is the slow part.
    return need_variant


def _conversion_rows(rows: Iterable[Any]) -> Iterator[ConversionRow]:
    """The conversion rows with their times (text) as microseconds."""
    for visitor_id, goal, kind, currency, count, first_ts, revenue, times, last in rows:
        stamps = sorted(text_micros(t) for t in times.split(",")) if times else None
        first = text_micros(first_ts)
        yield visitor_id, goal, kind, currency, count, first, revenue, stamps, text_micros(last)


def _prepare_touches(
    conn: sqlite3.Connection,
    macro_times: Iterable[tuple[str, int]],
    need_variant: list[tuple[str]],
) -> None:
    """Fill the temporary tables the touches query joins: converters (every visitor id
    of a person who converted, with the person's first macro conversion), visitors to
    search for a variant."""
    from ...event import format_timestamp

    # Touches after the person's first macro conversion get no credit for it.
    conn.execute(
        "CREATE TEMP TABLE IF NOT EXISTS convsdk_report_macro "
        "(visitor_id TEXT PRIMARY KEY, at TEXT NOT NULL) WITHOUT ROWID"
    )
    conn.execute("DELETE FROM temp.convsdk_report_macro")
    conn.executemany(
        "INSERT INTO temp.convsdk_report_macro VALUES (?, ?)",
        [(visitor_id, format_timestamp(from_micros(at))) for visitor_id, at in macro_times],
    )
    conn.execute(
        "CREATE TEMP TABLE IF NOT EXISTS convsdk_report_need "
        "(visitor_id TEXT PRIMARY KEY) WITHOUT ROWID"
    )
    conn.execute("DELETE FROM temp.convsdk_report_need")
    conn.executemany("INSERT INTO temp.convsdk_report_need VALUES (?)", need_variant)


def _touches(
    builder: VisitorRows,
    rows: Iterable[Any],
    arrivals: list[tuple[str, int, object, object, object]],
    linked: Container[str],
) -> None:
    """Set each visitor's first and last touch (and their times, for ``linked`` visitor
    ids), and the variant of those still without; add each converter's possible arrivals
    to ``arrivals``."""
    for visitor_id, first_utm, last_utm, variant, found in rows:
        if found and found != "[]":
            for moment, utm, referrer, url in loads(found):
                landing = utm if isinstance(utm, dict) else None
                arrivals.append((visitor_id, text_micros(moment), landing, referrer, url))
        visitor = builder.get(visitor_id)
        if visitor is None:  # pragma: no cover - every visitor has a first event
            continue
        if first_utm is not None:
            visitor.first_touch = utm_of(loads(keyed_value(first_utm)))
            visitor.last_touch = utm_of(loads(keyed_value(last_utm)))
            if visitor_id in linked:
                visitor.touch_times = (
                    text_micros(first_utm.split(" ", 1)[0]),
                    text_micros(last_utm.split(" ", 1)[0]),
                )
        if variant is not None:
            visitor.variant = keyed_value(variant)
            visitor.exposed = text_micros(variant.split(" ", 1)[0])
