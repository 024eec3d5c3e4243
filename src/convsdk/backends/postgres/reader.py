"""Reading stored events back from PostgreSQL, in time order, through a server-side cursor."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg import sql
from psycopg.types.json import set_json_loads

from ..._json import loads
from ...errors import BackendError, ConfigError
from ...event import COLUMNS, Event
from .settings import BACKEND, Settings, first_line

__all__ = ["read_events"]


def read_events(
    url: str, *, since: datetime | None = None, until: datetime | None = None
) -> Iterator[Event]:
    """Yield the stored events in timestamp order, ``since <= timestamp < until``.

    Rows stream through a server-side cursor, so memory stays flat on big tables; a
    naive ``since``/``until`` is taken as UTC. Raises :class:`~convsdk.ConfigError` for
    a bad URL or a missing table, :class:`~convsdk.BackendError` when the server fails.

    >>> for event in read_events("postgresql://app@db/analytics", since=last_week):
    ...     print(event.name)
    """
    settings = Settings(url, {})
    return _read(settings, _aware(since, "since"), _aware(until, "until"))


def _aware(value: datetime | None, field: str) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, datetime):
        raise ConfigError(f"{field} must be a datetime, got {value!r}", field=field)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def _query(
    table: tuple[str, ...], since: datetime | None, until: datetime | None
) -> tuple[sql.Composed, list[Any]]:
    where: list[sql.Composable] = []
    params: list[Any] = []
    if since is not None:
        where.append(sql.SQL("timestamp >= %s"))
        params.append(since)
    if until is not None:
        where.append(sql.SQL("timestamp < %s"))
        params.append(until)
    query = sql.SQL("SELECT {} FROM {}{} ORDER BY timestamp, event_id").format(
        sql.SQL(", ").join(map(sql.Identifier, COLUMNS)),
        sql.Identifier(*table),
        sql.SQL(" WHERE ") + sql.SQL(" AND ").join(where) if where else sql.SQL(""),
    )
    return query, params


def _read(settings: Settings, since: datetime | None, until: datetime | None) -> Iterator[Event]:
    query, params = _query(settings.table, since, until)
    try:
        conn = settings.connect(autocommit=False)
    except psycopg.Error as exc:
        raise BackendError(
            f"cannot connect to {settings.source}: {first_line(exc)}", backend=BACKEND
        ) from exc
    with conn:
        set_json_loads(loads, conn)
        conn.execute("SET TIME ZONE 'UTC'")
        try:
            with conn.cursor(name="convsdk_read_events") as cur:
                cur.itersize = 2000
                cur.execute(query, params)
                for row in cur:
                    yield Event.from_row(row)
        except psycopg.errors.UndefinedTable as exc:
            raise ConfigError(
                f"table {'.'.join(settings.table)} does not exist (run: convsdk migrate URL)",
                field="table",
                source=settings.source,
            ) from exc
        except psycopg.Error as exc:
            raise BackendError(first_line(exc), backend=BACKEND) from exc
