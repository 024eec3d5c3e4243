"""The PostgreSQL reader (extra ``postgres``): one snapshot, people streamed in batches.

Everything is read in one repeatable-read transaction, one snapshot however long the
report takes: the totals first, then the per-visitor aggregates into temporary tables
on the server, from which the people are streamed in visitor-id order through
server-side cursors (:mod:`~convsdk.report.stream`) while the report counts them; the connection
closes when the stream ends or is dropped.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ..._json import loads
from ..._urls import redact_url as redact
from ...errors import BackendError, ConfigError, missing_extra
from ..dataset import Dataset, to_micros
from ..people import groups, kept_links
from ..progress import ProgressCallback, report_progress
from ..rules import crawler, utm_of, variant_text
from ..stream import (
    ConversionRow,
    PeopleMerge,
    VisitorRow,
    anonymous_goals,
    closing_stream,
    count_bots,
    set_totals,
    told,
)
from .ahead import ReadAhead
from .options import (
    CONNECT_TIMEOUT,
    DEFAULT_TABLE,
    STATEMENT_TIMEOUT,
    split_options,
    table_name,
)
from .postgres_queries import (
    FIRST_KEY,
    QUERIES,
    RANGED,
    STREAMS,
    TEMP_TABLES,
    UTM_OK,
    time_range,
)

if TYPE_CHECKING:
    import psycopg
    from psycopg import sql

__all__ = ["PostgresReader"]

#: Rows a server-side cursor fetches at a time.
_ITERSIZE = 2000


class PostgresReader:
    """Reads a convsdk PostgreSQL table (extra ``postgres``).

    >>> PostgresReader.from_url("postgresql://shop@db/analytics?table=convsdk_events").read()
    """

    def __init__(
        self,
        conninfo: str,
        *,
        table: str = DEFAULT_TABLE,
        statement_timeout: float = STATEMENT_TIMEOUT,
        source: str | None = None,
    ) -> None:
        self.source = source or redact(conninfo)
        self.conninfo = conninfo
        self.table = table_name(table, self.source)
        self.statement_timeout = statement_timeout

    @classmethod
    def from_url(cls, url: str) -> PostgresReader:
        """``postgresql://user@host:5432/db?table=convsdk_events``.

        ``table`` and ``statement_timeout`` (seconds; default ten minutes, reports
        read a lot) are ours; any other parameter goes to libpq (``sslmode``...).
        """
        rest, ours = split_options(url, ("table", "statement_timeout"))
        if urlsplit(rest).scheme.lower() == "postgres":
            rest = "postgresql" + rest[len("postgres") :]
        timeout = STATEMENT_TIMEOUT
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
        goal_kinds: Mapping[str, str] | None = None,
        include_bots: bool = False,
    ) -> Dataset:
        """Summarise the events of the range (see :class:`Reader`); the people are a
        :class:`~convsdk.report.dataset.VisitorStream`, read from the server as the
        report counts them."""
        conn = self.connect()
        try:
            queries = _Queries(conn, self.source, self.table, since, until, progress)
            queries.begin()
            return _summarise(queries, step_goals, goal_kinds or {}, include_bots)
        except BaseException:
            conn.close()
            raise

    def connect(self) -> psycopg.Connection[Any]:
        """A connection to the store: repeatable read, its queries' time limited, the
        table checked to be there (no transaction open).

        Raises :class:`convsdk.ConfigError` without psycopg, for a bad URL or a missing
        table, and :class:`convsdk.BackendError` when the server cannot be reached.
        """
        self._require_psycopg()
        conn = self._connect()
        try:
            self._prepare(conn)
            conn.commit()
        except BaseException:
            conn.close()
            raise
        return conn

    def _require_psycopg(self) -> None:
        try:
            import psycopg  # noqa: F401
        except ImportError as exc:
            raise missing_extra(
                "reading PostgreSQL", "postgres", exc, field="source", source=self.source
            ) from exc

    def _connect(self) -> psycopg.Connection[Any]:
        import psycopg
        from psycopg.conninfo import conninfo_to_dict
        from psycopg.types.json import set_json_loads

        try:
            given = conninfo_to_dict(self.conninfo)
        except psycopg.Error as exc:
            raise ConfigError(str(exc).strip(), field="source", source=self.source) from exc
        try:
            extra: dict[str, Any] = {}
            if "connect_timeout" not in given:
                extra["connect_timeout"] = CONNECT_TIMEOUT
            conn = psycopg.connect(self.conninfo, **extra)
            # One snapshot for every query, so that they agree while events arrive;
            # read-only once the temporary tables are made (_Queries.begin).
            conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
            # jsonb values (UTM parameters, variants: a few a visitor) parsed by orjson
            # when installed, not psycopg's default, the standard library's (slower).
            set_json_loads(loads, conn)
        except psycopg.Error as exc:
            raise BackendError(f"cannot connect: {str(exc).strip()}", backend=self.source) from exc
        return conn

    def _prepare(self, conn: psycopg.Connection[Any]) -> None:
        """Limit the time a query may take; make sure the table is there."""
        from psycopg import sql

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


class _Queries:
    """Runs the reader's queries in one transaction, telling ``progress`` how far."""

    def __init__(
        self,
        conn: psycopg.Connection[Any],
        source: str,
        table: str,
        since: datetime | None,
        until: datetime | None,
        progress: ProgressCallback | None,
    ) -> None:
        from psycopg import sql

        where, self.params = time_range(since, until)
        self.names = {
            "t": sql.Identifier(*table.split(".")),
            "where": sql.SQL(where),
            "utm_ok": sql.SQL(UTM_OK),
        }
        self.conn = conn
        self.source = source
        self.progress = progress
        self.reading = ReadAhead()  # the streams' cursors
        self.done = 0
        self.total = len(QUERIES) + 1  # and the people

    def begin(self) -> None:
        """Make the temporary tables (but the first events', which its query makes)."""
        import psycopg

        try:
            for statement in TEMP_TABLES:
                self.conn.execute(statement)
        except psycopg.Error as exc:
            raise self.error(exc) from exc

    def seal(self) -> None:
        """Once the first events' table is made: give it its key, then make the
        transaction read-only (the temporary tables can still be written)."""
        import psycopg

        try:
            self.conn.execute(FIRST_KEY)
            self.conn.execute("SET TRANSACTION READ ONLY")
        except psycopg.Error as exc:
            raise self.error(exc) from exc

    def run(self, name: str, extra: Sequence[Any] = ()) -> tuple[list[Any], int]:
        """The rows of the query called ``name`` (few), and how many it changed."""
        import psycopg

        report_progress(self.progress, f"querying {name}", self.done, self.total)
        try:
            with self.conn.cursor() as cursor:
                cursor.execute(self.query(QUERIES[name]), self.arguments(name, extra))
                rows = cursor.fetchall() if cursor.description else []
                changed = cursor.rowcount
        except psycopg.Error as exc:
            raise self.error(exc) from exc
        self.done += 1
        report_progress(self.progress, f"querying {name}", self.done, self.total)
        return rows, changed

    def fill(self, statement: str, rows: Iterable[Sequence[Any]]) -> None:
        """Put ``rows`` into a temporary table."""
        import psycopg

        try:
            with self.conn.cursor() as cursor:
                cursor.executemany(statement, rows)
        except psycopg.Error as exc:
            raise self.error(exc) from exc

    def rows(self, name: str) -> Iterator[Any]:
        """The rows of the stream called ``name``, from a server-side cursor, fetched
        ahead by a thread (:class:`~.ahead.ReadAhead`)."""
        import psycopg

        try:
            reading = self.reading
            cursor_name = f"convsdk_report_{len(reading.cursors)}"
            with reading.held(self.conn.cursor(name=cursor_name)) as cursor:
                cursor.execute(self.query(STREAMS[name]), self.arguments(name, ()))
                yield from reading.rows(cursor, _ITERSIZE, name.replace(" ", "-"))
        except psycopg.Error as exc:
            raise self.error(exc) from exc

    def people(self, visitors: int) -> Iterator[Any]:
        """The rows of the ``visitors`` visitors, telling ``progress`` how many were read."""
        yield from told(self.rows("people"), self.progress, self.done, self.total, visitors)
        self.done += 1

    def query(self, template: str) -> sql.Composed:
        """``template`` with the table, the time range and the UTM test filled in."""
        from psycopg import sql

        return sql.SQL(template).format(**self.names)

    def arguments(self, name: str, extra: Sequence[Any]) -> list[Any]:
        """The parameters of the query called ``name``."""
        return [*self.params, *extra] if name in RANGED else list(extra)

    def close(self) -> None:
        """End the transaction (its temporary tables go with it): close the streams'
        cursors, then the connection (once; a second call does nothing)."""
        self.reading.close()
        self.conn.close()

    def error(self, exc: Exception) -> BackendError:
        """What the reader raises for ``exc``."""
        return BackendError(f"query failed: {str(exc).strip()}", backend=self.source)


def _summarise(
    queries: _Queries,
    step_goals: Collection[str],
    goal_kinds: Mapping[str, str],
    include_bots: bool,
) -> Dataset:
    """Run the queries in order; the dataset's people stream from what they leave in the
    temporary tables."""
    ((events, first, last, *anonymous),), _ = queries.run("totals")
    _, visitors = queries.run("first events")
    queries.seal()
    queries.run("conversions", [sorted(step_goals)])
    kinds: dict[str, str] = dict(queries.run("kinds")[0])
    dataset = Dataset(visitors=())
    set_totals(
        dataset,
        events,
        to_micros(first) if first is not None else None,
        to_micros(last) if last is not None else None,
        (anonymous[0], anonymous[1], anonymous[2], anonymous[3]),
        kinds,
    )
    dataset.anonymous_goals = anonymous_goals(_conversion_rows(queries.run("anonymous goals")[0]))
    bots = count_bots(queries.rows("bots"))  # a row per user agent, a few thousand at a time
    dataset.bot_visitors = 0 if include_bots else bots
    # The links come before the touches: they count up to the person's first macro
    # conversion, on every device of the person.
    links, _ = queries.run("links")
    dataset.links = kept_links(links, _kept(queries, links, include_bots))
    _person_macro(queries, {**kinds, **goal_kinds}, groups(dataset.links))
    for name in ("touches", "variants"):
        queries.run(name)
    merge = PeopleMerge(dataset.links, {v for v, _ in links}, include_bots)
    people = merge.people(
        _visitor_rows(queries.people(visitors)),
        _conversion_rows(queries.rows("conversion rows")),
        queries.rows("arrivals"),  # (visitor id, time, utm, referrer, url): as they come
    )
    dataset.visitors = closing_stream(people, queries.close)
    return dataset


def _kept(queries: _Queries, links: Iterable[tuple[str, object]], include_bots: bool) -> set[str]:
    """The linked visitor ids that are not left out as bots."""
    linked = sorted({visitor_id for visitor_id, _ in links})
    rows, _ = queries.run("linked agents", [linked])
    return {v for v, agent in rows if include_bots or not crawler(agent)}


def _person_macro(queries: _Queries, kinds: Mapping[str, str], people: list[list[str]]) -> None:
    """Give every converter their limit for touches: their first macro conversion, and
    every visitor id of a person who converted, the person's."""
    queries.run("macro", [sorted(goal for goal, kind in kinds.items() if kind == "macro")])
    queries.fill(
        "INSERT INTO convsdk_report_person VALUES (%s, %s)",
        [(visitor_id, person) for person, ids in enumerate(people) for visitor_id in ids],
    )
    queries.run("person macro")


def _visitor_rows(rows: Iterable[Any]) -> Iterator[VisitorRow]:
    """The people stream's rows as :class:`VisitorRow`."""
    for row in rows:
        visitor_id, moment, referrer, url, user_agent, utm, variant, exposed = row[:8]
        first_utm, first_at, last_utm, last_at = row[8:]
        first_touch = last_touch = touch_times = None
        if first_at is not None:
            first_touch, last_touch = utm_of(first_utm), utm_of(last_utm)
            touch_times = (first_at, last_at)
        yield VisitorRow(
            visitor_id,
            moment,
            referrer,
            url,
            user_agent,
            utm,
            variant_text(variant) if exposed is not None else None,
            exposed,
            first_touch,
            last_touch,
            touch_times,
        )


def _conversion_rows(rows: Iterable[Any]) -> Iterator[ConversionRow]:
    """The conversion rows (times read as microseconds), their revenue a float."""
    for visitor_id, goal, kind, currency, count, first, revenue, times, last in rows:
        stamps = sorted(times) if times else None
        value = None if revenue is None else float(revenue)
        yield visitor_id, goal, kind, currency, count, first, value, stamps, last
