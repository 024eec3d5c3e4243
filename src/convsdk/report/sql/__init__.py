"""SQL stores: SQLite (the embedded default) and PostgreSQL (extra ``postgres``).

Both readers push the grouping into the database, and keep it there: each visitor's
first event, first and last touch and variant, their conversions per goal and currency,
and a converter's limit for touches (their person's first macro conversion) go into
temporary tables (on disk for SQLite, on the server for PostgreSQL). ``read()`` returns
the totals, the anonymous conversions and the links at once; the people follow as a
:class:`~convsdk.report.dataset.VisitorStream`, read from ordered queries as the report
counts them (:mod:`~convsdk.report.stream`, which the DuckDB reader shares), so that
memory does not grow with the visitors, let alone the events. Everything is read from
one snapshot, in one transaction, whose connection closes when the stream ends or is
dropped. A repeated ``transaction_id`` is dropped in SQL; a repeated ``event_id``
cannot exist (the primary key).

URLs take a ``table`` query parameter (default ``convsdk_events``)::

    sqlite:///convsdk.db?table=events
    postgresql://report@db.internal/shop?table=convsdk_events&sslmode=require

Modules: :mod:`.options` (URL parameters), :mod:`.conversions` (the deduplicated
conversions both readers group), :mod:`.sqlite_queries` and :mod:`.sqlite`,
:mod:`.postgres_queries` and :mod:`.postgres`, :mod:`.ahead` (the PostgreSQL reader's
rows fetched ahead on a thread, while the report counts the last ones).
"""

from __future__ import annotations

from .options import DEFAULT_TABLE
from .postgres import PostgresReader
from .sqlite import SQLiteReader

__all__ = ["DEFAULT_TABLE", "PostgresReader", "SQLiteReader"]
