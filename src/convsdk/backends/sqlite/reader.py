"""Reading stored events back from a SQLite database, in time order, through a cursor."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import datetime

from ...event import Event, format_timestamp, parse_timestamp
from .rows import COLUMN_LIST
from .schema import MEMORY, connect
from .url import path_from_url

__all__ = ["read_events", "select"]

_FETCH = 1000


def read_events(
    path_or_url: str | os.PathLike[str],
    *,
    since: datetime | str | None = None,
    until: datetime | str | None = None,
) -> Iterator[Event]:
    """Stream stored events ordered by timestamp, from ``since`` (inclusive) to ``until``.

    >>> for event in read_events("sqlite:///convsdk.db", since=datetime(2025, 6, 1)):
    ...     print(event.name)

    ``since`` and ``until`` (exclusive) are datetimes (naive means UTC) or ISO-8601
    strings. Rows are fetched through a cursor, a thousand at a time, on a connection
    of the iterator's own, closed when it is exhausted or closed. Raises
    ``FileNotFoundError`` for a database that does not exist.
    """
    if isinstance(path_or_url, str) and path_or_url.lower().startswith("sqlite:"):
        path = path_from_url(path_or_url)
    else:
        path = os.fspath(path_or_url)
    if path != MEMORY and not os.path.exists(path):
        raise FileNotFoundError(f"no SQLite database at {path}")
    sql, params = select(since, until)
    return _stream(path, sql, params)


def _stream(path: str, sql: str, params: list[str]) -> Iterator[Event]:
    conn = connect(path)
    try:
        cursor = conn.execute(sql, params)
        while rows := cursor.fetchmany(_FETCH):
            for row in rows:
                yield Event.from_row(row)
    finally:
        conn.close()


def select(since: datetime | str | None, until: datetime | str | None) -> tuple[str, list[str]]:
    """The query and parameters of the events from ``since`` to ``until``, in time order."""
    clauses: list[str] = []
    params: list[str] = []
    if since is not None:
        clauses.append("timestamp >= ?")
        params.append(_timestamp_text(since, "since"))
    if until is not None:
        clauses.append("timestamp < ?")
        params.append(_timestamp_text(until, "until"))
    where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
    return f"SELECT {COLUMN_LIST} FROM convsdk_events{where} ORDER BY timestamp, event_id", params


def _timestamp_text(value: datetime | str, name: str) -> str:
    """The stored form of a bound, so that comparing text compares times."""
    if isinstance(value, str):
        try:
            value = parse_timestamp(value)
        except ValueError as exc:
            raise ValueError(f"{name} is not an ISO-8601 timestamp: {value!r}") from exc
    if not isinstance(value, datetime):
        raise TypeError(f"{name} must be a datetime or an ISO-8601 string")
    return format_timestamp(value)
