"""The PostgreSQL reader (extra ``postgres``): one snapshot, queries streamed in batches."""

from __future__ import annotations

from collections.abc import Collection, Container, Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ..._urls import redact_url as redact
from ...errors import BackendError, ConfigError, missing_extra
from ..dataset import Dataset, from_micros, to_micros
from ..people import merge_people, person_macro_times
from ..progress import ProgressCallback, report_progress
from ..rules import utm_of, variant_text
from .options import (
    CONNECT_TIMEOUT,
    DEFAULT_TABLE,
    STATEMENT_TIMEOUT,
    split_options,
    table_name,
)
from .postgres_queries import QUERIES, UTM_OK, time_range
from .visitors import (
    ConversionRow,
    VisitorRows,
    add_conversions,
    add_touchpoints,
    set_totals,
)

if TYPE_CHECKING:
    import psycopg

__all__ = ["PostgresReader"]


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
        """Summarise the events of the range (see :class:`Reader`)."""
        self._require_psycopg()
        conn = self._connect()
        try:
            self._prepare(conn)
            queries = _Queries(conn, self.source, self.table, since, until, progress)
            return _summarise(queries, step_goals, goal_kinds or {}, include_bots)
        finally:
            conn.close()

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

        try:
            given = conninfo_to_dict(self.conninfo)
        except psycopg.Error as exc:
            raise ConfigError(str(exc).strip(), field="source", source=self.source) from exc
        try:
            extra: dict[str, Any] = {}
            if "connect_timeout" not in given:
                extra["connect_timeout"] = CONNECT_TIMEOUT
            conn = psycopg.connect(self.conninfo, **extra)
            # One snapshot for every query, so that they agree while events arrive.
            conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
            conn.read_only = True
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
    """Runs the reader's queries, streaming their rows, telling ``progress`` how far."""

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
        self.done = 0

    def run(self, name: str, extra: Sequence[Any] = (), first: Sequence[Any] = ()) -> Iterator[Any]:
        """The rows of the query called ``name``, fetched a few thousand at a time."""
        import psycopg
        from psycopg import sql

        phases = len(QUERIES)
        report_progress(self.progress, f"querying {name}", self.done, phases)
        query = sql.SQL(QUERIES[name]).format(**self.names)
        try:
            with self.conn.cursor() as cursor:
                cursor.execute(query, [*first, *self.params, *extra])
                while rows := cursor.fetchmany(5000):
                    yield from rows
        except psycopg.Error as exc:
            raise BackendError(f"query failed: {str(exc).strip()}", backend=self.source) from exc
        self.done += 1
        report_progress(self.progress, f"querying {name}", self.done, phases)


def _summarise(
    queries: _Queries,
    step_goals: Collection[str],
    goal_kinds: Mapping[str, str],
    include_bots: bool,
) -> Dataset:
    """Run the queries in order and fold their rows into a dataset."""
    ((events, first, last, *anonymous),) = queries.run("totals")
    builder = VisitorRows(include_bots)
    for visitor_id, ts, referrer, url, user_agent, utm in queries.run("visitors"):
        builder.first(visitor_id, to_micros(ts), referrer, url, user_agent, utm)
    dataset = builder.dataset()
    rows = _conversion_rows(queries.run("conversions", [sorted(step_goals)]))
    kinds = add_conversions(builder, dataset, rows)
    kept = builder.kept()
    # The links come before the touches: they count up to the person's first macro
    # conversion, on every device of the person.
    links = list(queries.run("links"))
    macro = person_macro_times(builder.macro_times({**kinds, **goal_kinds}), links, kept)
    _touches(queries, builder, macro, {v for v, _ in links})
    for visitor_id, variant, exposed in queries.run("variants"):
        visitor = builder.get(visitor_id)
        if visitor is not None:
            visitor.variant = variant_text(variant)
            visitor.exposed = to_micros(exposed)
    set_totals(
        dataset,
        events,
        to_micros(first) if first is not None else None,
        to_micros(last) if last is not None else None,
        (anonymous[0], anonymous[1], anonymous[2], anonymous[3]),
        kinds,
    )
    merge_people(dataset, kept, links)
    return dataset


def _conversion_rows(rows: Iterable[Any]) -> Iterator[ConversionRow]:
    """The conversion rows with their times as microseconds, their revenue a float."""
    for visitor_id, goal, kind, currency, count, first_ts, revenue, times, last in rows:
        stamps = sorted(to_micros(s) for s in times) if times else None
        value = None if revenue is None else float(revenue)
        first = to_micros(first_ts)
        yield visitor_id, goal, kind, currency, count, first, value, stamps, to_micros(last)


def _touches(
    queries: _Queries, builder: VisitorRows, limits: Mapping[str, int], linked: Container[str]
) -> None:
    """Set each visitor's first and last touch (and their times, for ``linked`` visitor
    ids) and a converter's arrivals, up to ``limits``: the first macro conversion of
    each converter's person, by visitor id."""
    macro = [list(limits), [from_micros(at) for at in limits.values()]]
    for visitor_id, utm, moment in queries.run("first touches", first=macro):
        visitor = builder.get(visitor_id)
        if visitor is not None:
            visitor.first_touch = utm_of(utm)
            if visitor_id in linked:
                visitor.touch_times = (to_micros(moment), to_micros(moment))
    for visitor_id, utm, moment in queries.run("last touches", first=macro):
        visitor = builder.get(visitor_id)
        if visitor is not None:
            visitor.last_touch = utm_of(utm)
            if visitor.touch_times is not None:
                visitor.touch_times = (visitor.touch_times[0], to_micros(moment))
    arrivals = queries.run("arrivals", first=macro)
    add_touchpoints(builder, ((v, to_micros(t), utm, r, url) for v, t, utm, r, url in arrivals))
