"""``postgresql://``: events in a PostgreSQL table (extra ``postgres``).

::

    postgresql://user:password@db.internal:5432/analytics?table=convsdk_events

The query string may carry ``table`` (default ``convsdk_events``, optionally
``schema.table``) and ``statement_timeout`` (seconds, default 30); everything else is a
libpq connection parameter (``sslmode``, ``application_name``, ``connect_timeout``...).
The table and its indexes are created on first use, or up front with :func:`migrate`
(``convsdk migrate URL``). The columns are those of the SQLite backend, so one report
reader works on both::

    event_id TEXT PRIMARY KEY, name TEXT NOT NULL, kind TEXT, goal TEXT,
    value DOUBLE PRECISION, currency TEXT, transaction_id TEXT, timestamp TIMESTAMPTZ NOT NULL,
    visitor_id TEXT, session_id TEXT, user_id TEXT, properties JSONB NOT NULL,
    context JSONB NOT NULL,
    xid XID8 NOT NULL DEFAULT pg_current_xact_id()  -- the transaction that stored the row
    -- indexed on (timestamp), (visitor_id, timestamp), (goal, timestamp) WHERE goal IS NOT
    -- NULL, (xid)

The ``xid`` column is for ``convsdk rollup`` (:mod:`convsdk.report.rollup`): a table of an
earlier version gets it from ``convsdk migrate``, from ``convsdk rollup``, or from a
tracker's first write when the table is not too busy to lock for a moment (see
:mod:`.schema`; the index comes from the first two only).

A batch is one transaction: it is stored whole or not at all, and a batch sent again
(after a failure whose outcome was unknown) is stored once. The connection is opened
lazily by the thread that writes and replaced after a connection error; the batch in
flight then fails with a retryable :class:`~convsdk.BackendError` for the dispatcher to
send again.

The package: :mod:`.settings` (the URL), :mod:`.schema` (table and indexes),
:mod:`.rows` (a batch as rows), :mod:`.backend` (:class:`PostgresBackend`,
:func:`migrate`), :mod:`.reader` (:func:`read_events`).
"""

from __future__ import annotations

from .backend import PostgresBackend, migrate
from .reader import read_events
from .schema import COLUMNS
from .settings import DEFAULT_TABLE

__all__ = ["COLUMNS", "DEFAULT_TABLE", "PostgresBackend", "migrate", "read_events"]
