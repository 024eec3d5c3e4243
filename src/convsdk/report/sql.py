"""SQL stores: SQLite (the embedded default) and PostgreSQL (extra ``postgres``).

Both readers push the grouping into the database: one row per visitor (first event,
first and last touch, variant) and one per visitor, goal and currency (conversions,
first time, revenue) reach Python, never one per event. A repeated ``transaction_id``
is dropped in SQL; a repeated ``event_id`` cannot exist (the primary key).

URLs take a ``table`` query parameter (default ``convsdk_events``)::

    sqlite:///convsdk.db?table=events
    postgresql://report@db.internal/shop?table=convsdk_events&sslmode=require
"""

from __future__ import annotations

import os
import re
import sqlite3
from collections.abc import Collection, Iterator, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

from .._json import loads
from .._urls import redact_url as redact
from ..errors import BackendError, ConfigError
from .progress import ProgressCallback, report_progress
from .summary import (
    Dataset,
    VisitorSummary,
    first_macro,
    from_micros,
    merge_kind,
    merge_rows,
    referrer_domain,
    text_micros,
    to_micros,
    utm_of,
    variant_text,
)

__all__ = ["DEFAULT_TABLE", "PostgresReader", "SQLiteReader"]

DEFAULT_TABLE = "convsdk_events"

_TABLE = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}(?:\.[A-Za-z_][A-Za-z0-9_]{0,62})?\Z")
_CONNECT_TIMEOUT = 10
_STATEMENT_TIMEOUT = 600.0
_SQLITE_BUSY_TIMEOUT = 10.0
# A time range spanning at most this share of the table's time is read through the
# timestamp index; a wider one by reading the table in order (measured: the crossover
# on a million events lies between a week and a month of thirty days).
_NARROW = 0.25


def _split_options(url: str, ours: Collection[str]) -> tuple[str, dict[str, str]]:
    """``url`` without the query parameters named in ``ours``, and their values."""
    found: dict[str, str] = {}
    rest = []
    for key, value in parse_qsl(urlsplit(url).query, keep_blank_values=True):
        if key in ours:
            found[key] = value
        else:
            rest.append((key, value))
    # Rebuilt by hand: urlunsplit() turns "sqlite:////abs.db" into "sqlite://abs.db".
    base = url.split("?", 1)[0]
    return (f"{base}?{urlencode(rest)}" if rest else base), found


def _table(value: str, url: str, *, schema: bool = True) -> str:
    if not _TABLE.match(value) or (not schema and "." in value):
        where = ", optionally schema.table" if schema else ""
        raise ConfigError(
            f"not a table name: {value!r} (letters, digits and _{where})",
            field="table",
            source=redact(url),
        )
    return value


class _VisitorRows:
    """Builds visitor summaries from the per-visitor rows of the SQL readers."""

    def __init__(self) -> None:
        self.visitors: dict[str, VisitorSummary] = {}
        self.referrers: dict[str, tuple[object, object]] = {}

    def first(self, visitor_id: str, moment: int, referrer: object, url: object) -> VisitorSummary:
        visitor = self.visitors[visitor_id] = VisitorSummary(first_seen=moment)
        self.referrers[visitor_id] = (referrer, url)
        return visitor

    def get(self, visitor_id: str) -> VisitorSummary | None:
        return self.visitors.get(visitor_id)

    def macro_times(self, kinds: dict[str, str]) -> Iterator[tuple[str, int]]:
        """``(visitor id, first macro conversion)`` of every visitor who has one."""
        for visitor_id, visitor in self.visitors.items():
            at = first_macro(visitor.goals, kinds)
            if at is not None:
                yield visitor_id, at

    def dataset(self) -> Dataset:
        for visitor_id, (referrer, url) in self.referrers.items():
            self.visitors[visitor_id].referrer = referrer_domain(referrer, url)
        return Dataset(visitors=list(self.visitors.values()))


class SQLiteReader:
    """Reads a convsdk SQLite database (read-only; a running tracker may keep writing).

    >>> SQLiteReader("convsdk.db").read(since=datetime(2026, 11, 1, tzinfo=UTC))
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        table: str = DEFAULT_TABLE,
        timeout: float = _SQLITE_BUSY_TIMEOUT,
        source: str | None = None,
    ) -> None:
        self.path = os.path.abspath(os.fspath(path))
        self.table = _table(table, source or self.path, schema=False)
        self.timeout = timeout
        self.source = source or f"sqlite:///{os.fspath(path)}"

    @classmethod
    def from_url(cls, url: str) -> SQLiteReader:
        """``sqlite:///relative.db`` or ``sqlite:////absolute.db``, ``?table=`` optional."""
        from ..backends.sqlite import SQLiteBackend

        rest, ours = _split_options(url, ("table",))
        backend = SQLiteBackend.from_url(rest)
        if backend.path == ":memory:":
            raise ConfigError(
                "an in-memory database has nothing to report", field="source", source=url
            )
        table = _table(ours.get("table", DEFAULT_TABLE), url, schema=False)
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
    ) -> Dataset:
        """Summarise the events of the range (see :class:`Reader`)."""
        from ..event import format_timestamp

        table = f'"{self.table}"'
        params = []
        if since is not None:
            params.append(format_timestamp(since))
        if until is not None:
            params.append(format_timestamp(until))
        conn = self._connect()
        queries: dict[str, str] = {}
        phases = 5
        done = 0

        def run(name: str, extra: Sequence[Any] = ()) -> list[Any]:
            nonlocal done
            report_progress(progress, f"querying {name}", done, phases)
            try:
                rows = conn.execute(queries[name], [*params, *extra]).fetchall()
            except sqlite3.Error as exc:
                raise BackendError(f"cannot read {self.path}: {exc}", backend="sqlite") from exc
            done += 1
            report_progress(progress, f"querying {name}", done, phases)
            return rows

        try:
            try:
                # One read transaction: every query sees the same events, even while a
                # tracker keeps writing (WAL readers never block the writer).
                conn.execute("BEGIN")
                indexed = _narrow(conn, table, since, until)
            except sqlite3.Error as exc:
                raise BackendError(f"cannot read {self.path}: {exc}", backend="sqlite") from exc
            queries = _sqlite_queries(
                table,
                _range(since, until, indexed=True),
                _range(since, until, indexed=indexed),
                len(step_goals),
            )
            ((events, first, last),) = run("totals")
            ((anonymous, anonymous_plain),) = run("anonymous")
            builder = _VisitorRows()
            need_variant = []
            for visitor_id, key, referrer, url, variant in run("visitors"):
                moment = key.split(" ", 1)[0]
                summary = builder.first(visitor_id, text_micros(moment), referrer, url)
                if variant is None:
                    need_variant.append((visitor_id,))
                else:
                    summary.variant = variant_text(variant)
            # Only visitors whose first event has no variant are searched for one: the
            # variant is usually on every event, and sorting them all is the slow part.
            dataset = builder.dataset()
            kinds: dict[str, str] = {}
            for visitor_id, goal, kind, currency, count, first_ts, revenue, times in run(
                "conversions", sorted(step_goals)
            ):
                merge_kind(kinds, goal, kind)
                stamps = sorted(text_micros(t) for t in times.split(",")) if times else None
                if visitor_id is None:
                    target = dataset.anonymous_goals
                else:
                    visitor = builder.get(visitor_id)
                    if visitor is None:  # pragma: no cover - every visitor has a first event
                        continue
                    target = visitor.goals
                merge_rows(target, goal, count, text_micros(first_ts), revenue, currency, stamps)
            # Touches after a visitor's first macro conversion get no credit for it.
            conn.execute(
                "CREATE TEMP TABLE IF NOT EXISTS convsdk_report_macro "
                "(visitor_id TEXT PRIMARY KEY, at TEXT NOT NULL) WITHOUT ROWID"
            )
            conn.execute("DELETE FROM temp.convsdk_report_macro")
            conn.executemany(
                "INSERT INTO temp.convsdk_report_macro VALUES (?, ?)",
                [
                    (visitor_id, format_timestamp(from_micros(at)))
                    for visitor_id, at in builder.macro_times(kinds)
                ],
            )
            conn.execute(
                "CREATE TEMP TABLE IF NOT EXISTS convsdk_report_need "
                "(visitor_id TEXT PRIMARY KEY) WITHOUT ROWID"
            )
            conn.execute("DELETE FROM temp.convsdk_report_need")
            conn.executemany("INSERT INTO temp.convsdk_report_need VALUES (?)", need_variant)
            for visitor_id, first_utm, last_utm, variant in run("touches"):
                visitor = builder.get(visitor_id)
                if visitor is None:  # pragma: no cover - every visitor has a first event
                    continue
                if first_utm is not None:
                    visitor.first_touch = utm_of(loads(_keyed_value(first_utm)))
                    visitor.last_touch = utm_of(loads(_keyed_value(last_utm)))
                if variant is not None:
                    visitor.variant = _keyed_value(variant)
        finally:
            conn.close()
        dataset.events = events
        dataset.first_event = text_micros(first) if first else None
        dataset.last_event = text_micros(last) if last else None
        dataset.anonymous_events = anonymous
        dataset.anonymous_interactions = anonymous_plain
        dataset.goal_kinds = kinds
        return dataset


def _keyed_value(text: str) -> str:
    """The value of a ``"<timestamp> <event id> <value>"`` string."""
    return text.split(" ", 2)[2]


def _range(since: datetime | None, until: datetime | None, *, indexed: bool) -> str:
    """The SQL condition of a time range; ``indexed=False`` keeps SQLite off the index."""
    # A unary + makes the column an expression, which no index serves: for a range
    # holding most of the table, reading the table in order beats an index lookup a row.
    column = "timestamp" if indexed else "+timestamp"
    clauses = []
    if since is not None:
        clauses.append(f"{column} >= ?")
    if until is not None:
        clauses.append(f"{column} < ?")
    return " AND ".join(clauses) or "1"


def _narrow(
    conn: sqlite3.Connection, table: str, since: datetime | None, until: datetime | None
) -> bool:
    """Whether the range spans little enough of the table's time for its index to pay."""
    if since is None and until is None:
        return False
    from ..event import parse_timestamp

    low, high = conn.execute(f"SELECT MIN(timestamp), MAX(timestamp) FROM {table}").fetchone()
    if low is None:
        return True
    first, last = to_micros(parse_timestamp(low)), to_micros(parse_timestamp(high))
    start = max(first, to_micros(since)) if since is not None else first
    end = min(last, to_micros(until)) if until is not None else last
    return (end - start) <= _NARROW * max(1, last - first)


def _sqlite_queries(t: str, indexed: str, where: str, steps: int) -> dict[str, str]:
    # Stored timestamps sort as times (ISO-8601, UTC, microseconds). "<timestamp>
    # <event id> <value>" strings carry a value along with the key that orders it, so
    # MIN() and MAX() of them pick the value of the first or last event.
    # Every event's context has a "utm" key, mostly null: the text tests rule those
    # out before any JSON is parsed. They can only let too much through (the JSON test
    # decides), so a writer spacing its JSON differently costs time, not correctness.
    has_utm = (
        """instr(context, '"utm"') > 0 AND instr(context, '"utm":null') = 0 """
        """AND instr(context, '"utm": null') = 0"""
    )
    utm = (
        f"CASE WHEN {has_utm} AND json_type(context, '$.utm') = 'object' "
        "AND json_extract(context, '$.utm') <> '{}' AND (m.at IS NULL OR timestamp <= m.at) "
        "THEN timestamp || ' ' || event_id || ' ' || json_extract(context, '$.utm') END"
    )
    step_list = ", ".join("?" * steps)
    return {
        # Answered from the timestamp index alone.
        "totals": f"SELECT COUNT(*), MIN(timestamp), MAX(timestamp) FROM {t} WHERE {indexed}",
        "anonymous": f"""
            SELECT COUNT(*), COUNT(*) FILTER (WHERE kind IS NULL)
            FROM {t} WHERE visitor_id IS NULL AND {where}""",
        # The (visitor_id, timestamp) index finds each visitor's first event; only those
        # rows are then read.
        "visitors": f"""
            WITH f AS (
              SELECT visitor_id, MIN(timestamp || ' ' || event_id) AS k
              FROM {t} WHERE visitor_id IS NOT NULL AND {where} GROUP BY visitor_id)
            SELECT f.visitor_id, f.k, json_extract(e.context, '$.referrer'),
                   json_extract(e.context, '$.url'), json_extract(e.context, '$.variant')
            FROM f JOIN {t} e ON e.event_id = substr(f.k, instr(f.k, ' ') + 1)""",
        # One pass over the table (the unary + keeps SQLite from walking the visitor
        # index, which would read the rows in random order); only rows with UTM
        # parameters, or a variant of a visitor still without one, are grouped. A
        # converter's touches count up to their first macro conversion (m.at).
        "touches": f"""
            SELECT e.visitor_id, MIN({utm}), MAX({utm}),
                   MIN(CASE WHEN e.visitor_id IN temp.convsdk_report_need
                            AND json_type(context, '$.variant') NOT IN ('null')
                       THEN timestamp || ' ' || event_id || ' '
                            || json_extract(context, '$.variant') END)
            FROM {t} e LEFT JOIN temp.convsdk_report_macro m ON m.visitor_id = e.visitor_id
            WHERE +e.visitor_id IS NOT NULL AND {where}
              AND (({has_utm})
                   OR (instr(context, '"variant"') > 0
                       AND e.visitor_id IN temp.convsdk_report_need))
            GROUP BY +e.visitor_id""",
        # A repeated transaction id of a goal counts once: its first event (rn = 1).
        # MIN(kind): "macro" sorts before "micro", so a goal any event called macro is.
        "conversions": f"""
            WITH c AS (
              SELECT visitor_id, COALESCE(goal, name) AS g, kind, value, currency,
                     timestamp, transaction_id,
                     ROW_NUMBER() OVER (
                       PARTITION BY COALESCE(goal, name), transaction_id
                       ORDER BY timestamp, event_id) AS rn
              FROM {t} WHERE kind IS NOT NULL AND {where})
            SELECT visitor_id, g, MIN(kind), currency, COUNT(*), MIN(timestamp), SUM(value),
                   group_concat(CASE WHEN g IN ({step_list}) THEN timestamp END)
            FROM c WHERE transaction_id IS NULL OR rn = 1
            GROUP BY visitor_id, g, currency""",
    }


class PostgresReader:
    """Reads a convsdk PostgreSQL table (extra ``postgres``).

    >>> PostgresReader.from_url("postgresql://shop@db/analytics?table=convsdk_events").read()
    """

    def __init__(
        self,
        conninfo: str,
        *,
        table: str = DEFAULT_TABLE,
        statement_timeout: float = _STATEMENT_TIMEOUT,
        source: str | None = None,
    ) -> None:
        self.source = source or redact(conninfo)
        self.conninfo = conninfo
        self.table = _table(table, self.source)
        self.statement_timeout = statement_timeout

    @classmethod
    def from_url(cls, url: str) -> PostgresReader:
        """``postgresql://user@host:5432/db?table=convsdk_events``.

        ``table`` and ``statement_timeout`` (seconds; default ten minutes, reports
        read a lot) are ours; any other parameter goes to libpq (``sslmode``...).
        """
        rest, ours = _split_options(url, ("table", "statement_timeout"))
        if urlsplit(rest).scheme.lower() == "postgres":
            rest = "postgresql" + rest[len("postgres") :]
        timeout = _STATEMENT_TIMEOUT
        if "statement_timeout" in ours:
            try:
                timeout = float(ours["statement_timeout"])
            except ValueError:
                timeout = -1.0
            if not 0 < timeout < 86_400:
                raise ConfigError(
                    f"must be a number of seconds, got {ours['statement_timeout']!r}",
                    field="statement_timeout",
                    source=redact(url),
                )
        table = ours.get("table", DEFAULT_TABLE)
        return cls(rest, table=table, statement_timeout=timeout, source=redact(url))

    def read(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        step_goals: Collection[str] = (),
        progress: ProgressCallback | None = None,
    ) -> Dataset:
        """Summarise the events of the range (see :class:`Reader`)."""
        try:
            import psycopg
            from psycopg import sql
            from psycopg.conninfo import conninfo_to_dict
        except ImportError as exc:
            raise ConfigError(
                "reading PostgreSQL needs psycopg; run: pip install 'convsdk[postgres]'",
                field="source",
                source=self.source,
            ) from exc
        clauses, params = [], []
        if since is not None:
            clauses.append("timestamp >= %s")
            params.append(since)
        if until is not None:
            clauses.append("timestamp < %s")
            params.append(until)
        where = sql.SQL(" AND ".join(clauses) or "TRUE")
        t = sql.Identifier(*self.table.split("."))
        # COLLATE "C": event ids break ties byte by byte, as in SQLite and Python.
        utm_ok = sql.SQL(
            "jsonb_typeof(context->'utm') = 'object' AND context->'utm' <> '{}'::jsonb"
        )
        queries = {
            "totals": sql.SQL(
                """SELECT COUNT(*), MIN(timestamp), MAX(timestamp),
                          COUNT(*) FILTER (WHERE visitor_id IS NULL),
                          COUNT(*) FILTER (WHERE visitor_id IS NULL AND kind IS NULL)
                   FROM {t} WHERE {where}"""
            ),
            "visitors": sql.SQL(
                """SELECT DISTINCT ON (visitor_id) visitor_id, timestamp,
                          context->>'referrer', context->>'url'
                   FROM {t} WHERE visitor_id IS NOT NULL AND {where}
                   ORDER BY visitor_id, timestamp, event_id COLLATE "C" """
            ),
            # A converter's touches count up to their first macro conversion (m.at).
            "first touches": sql.SQL(
                """SELECT DISTINCT ON (e.visitor_id) e.visitor_id, context->'utm'
                   FROM {t} e LEFT JOIN unnest(%s::text[], %s::timestamptz[]) AS m(v, at)
                        ON m.v = e.visitor_id
                   WHERE e.visitor_id IS NOT NULL AND {where} AND {utm_ok}
                     AND (m.at IS NULL OR timestamp <= m.at)
                   ORDER BY e.visitor_id, timestamp, event_id COLLATE "C" """
            ),
            "last touches": sql.SQL(
                """SELECT DISTINCT ON (e.visitor_id) e.visitor_id, context->'utm'
                   FROM {t} e LEFT JOIN unnest(%s::text[], %s::timestamptz[]) AS m(v, at)
                        ON m.v = e.visitor_id
                   WHERE e.visitor_id IS NOT NULL AND {where} AND {utm_ok}
                     AND (m.at IS NULL OR timestamp <= m.at)
                   ORDER BY e.visitor_id, timestamp DESC, event_id COLLATE "C" DESC"""
            ),
            "variants": sql.SQL(
                """SELECT DISTINCT ON (visitor_id) visitor_id, context->'variant'
                   FROM {t}
                   WHERE visitor_id IS NOT NULL AND {where}
                     AND context ? 'variant' AND jsonb_typeof(context->'variant') <> 'null'
                   ORDER BY visitor_id, timestamp, event_id COLLATE "C" """
            ),
            "conversions": sql.SQL(
                """WITH c AS (
                     SELECT visitor_id, COALESCE(goal, name) AS g, kind, value, currency,
                            timestamp, transaction_id,
                            ROW_NUMBER() OVER (
                              PARTITION BY COALESCE(goal, name), transaction_id
                              ORDER BY timestamp, event_id COLLATE "C") AS rn
                     FROM {t} WHERE kind IS NOT NULL AND {where})
                   SELECT visitor_id, g, MIN(kind), currency, COUNT(*), MIN(timestamp),
                          SUM(value), array_agg(timestamp) FILTER (WHERE g = ANY(%s::text[]))
                   FROM c WHERE transaction_id IS NULL OR rn = 1
                   GROUP BY visitor_id, g, currency"""
            ),
        }
        phases = len(queries)
        try:
            given = conninfo_to_dict(self.conninfo)
        except psycopg.Error as exc:
            raise ConfigError(str(exc).strip(), field="source", source=self.source) from exc
        try:
            extra: dict[str, Any] = {}
            if "connect_timeout" not in given:
                extra["connect_timeout"] = _CONNECT_TIMEOUT
            conn = psycopg.connect(self.conninfo, **extra)
            # One snapshot for every query, so that they agree while events arrive.
            conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
            conn.read_only = True
        except psycopg.Error as exc:
            raise BackendError(f"cannot connect: {str(exc).strip()}", backend=self.source) from exc
        try:
            conn.execute(
                sql.SQL("SET statement_timeout = {}").format(
                    sql.Literal(int(self.statement_timeout * 1000))
                )
            )
            found = conn.execute("SELECT to_regclass(%s)", [self.table]).fetchone()
            if found is None or found[0] is None:
                raise ConfigError(
                    f"no {self.table} table in this database", field="table", source=self.source
                )
            done = 0

            def run(
                name: str, extra: Sequence[Any] = (), first: Sequence[Any] = ()
            ) -> Iterator[Any]:
                nonlocal done
                report_progress(progress, f"querying {name}", done, phases)
                query = queries[name].format(t=t, where=where, utm_ok=utm_ok)
                try:
                    with conn.cursor() as cursor:
                        cursor.execute(query, [*first, *params, *extra])
                        while rows := cursor.fetchmany(5000):
                            yield from rows
                except psycopg.Error as exc:
                    raise BackendError(
                        f"query failed: {str(exc).strip()}", backend=self.source
                    ) from exc
                done += 1
                report_progress(progress, f"querying {name}", done, phases)

            ((events, first, last, anon, anon_plain),) = run("totals")
            builder = _VisitorRows()
            for visitor_id, ts, referrer, url in run("visitors"):
                builder.first(visitor_id, to_micros(ts), referrer, url)
            dataset = builder.dataset()
            kinds: dict[str, str] = {}
            for visitor_id, goal, kind, currency, count, first_ts, revenue, times in run(
                "conversions", [sorted(step_goals)]
            ):
                merge_kind(kinds, goal, kind)
                stamps = sorted(to_micros(s) for s in times) if times else None
                if visitor_id is None:
                    target = dataset.anonymous_goals
                else:
                    visitor = builder.get(visitor_id)
                    if visitor is None:  # pragma: no cover - every visitor has a first event
                        continue
                    target = visitor.goals
                merge_rows(
                    target,
                    goal,
                    count,
                    to_micros(first_ts),
                    None if revenue is None else float(revenue),
                    currency,
                    stamps,
                )
            converters = list(builder.macro_times(kinds))
            macro = [
                [visitor_id for visitor_id, _ in converters],
                [from_micros(at) for _, at in converters],
            ]
            touches = (("first touches", "first_touch"), ("last touches", "last_touch"))
            for name, attribute in touches:
                for visitor_id, utm in run(name, first=macro):
                    visitor = builder.get(visitor_id)
                    if visitor is not None:
                        setattr(visitor, attribute, utm_of(utm))
            for visitor_id, variant in run("variants"):
                visitor = builder.get(visitor_id)
                if visitor is not None:
                    visitor.variant = variant_text(variant)
        finally:
            conn.close()
        dataset.events = events
        dataset.first_event = to_micros(first) if first is not None else None
        dataset.last_event = to_micros(last) if last is not None else None
        dataset.anonymous_events = anon
        dataset.anonymous_interactions = anon_plain
        dataset.goal_kinds = kinds
        return dataset
