"""A batch as SQLite rows, and the transaction that inserts them (``INSERT OR IGNORE``,
many rows a statement): the hot path of the ``sqlite://`` backend."""

from __future__ import annotations

import logging
import math
import sqlite3
from collections.abc import Sequence
from itertools import chain
from typing import Any

from ... import event as event_module
from ..._json import dumps_str
from ...event import COLUMNS, Event, format_timestamp

__all__ = ["COLUMN_LIST", "insert", "to_rows"]

_log = logging.getLogger("convsdk.backends.sqlite")

#: The column list of the table as SQL, in the order of :data:`convsdk.event.COLUMNS`.
COLUMN_LIST = ", ".join(COLUMNS)
_ROW = f"({', '.join('?' * len(COLUMNS))})"
_INSERT = f"INSERT OR IGNORE INTO convsdk_events ({COLUMN_LIST}) VALUES {_ROW}"
# Rows a statement inserts: each execution of a statement opens its cursors and seeks
# afresh, so 25 rows a statement take a batch ~25% faster through SQLite than one.
# 25 x 13 parameters stay far below SQLite's oldest limit of 999.
_PER_INSERT = 25
_INSERT_MANY = f"INSERT OR IGNORE INTO convsdk_events ({COLUMN_LIST}) VALUES " + ", ".join(
    [_ROW] * _PER_INSERT
)
# Bound in place of None: SQLite stores a NaN as NULL (sqlite3_bind_double), and the
# sqlite3 module binds a float directly, where None first goes through its adapter
# lookup (~0.3 µs a parameter: a page view has six NULL columns).
_NULL = math.nan


def insert(conn: sqlite3.Connection, rows: list[tuple[Any, ...]]) -> None:
    """Insert ``rows`` in one ``IMMEDIATE`` transaction, ignoring ids already stored."""
    if conn.in_transaction:
        conn.execute("ROLLBACK")  # left open by an interrupted write
    # IMMEDIATE takes the write lock up front, so waiting for another writer
    # happens here, under busy_timeout, not as a deadlock on upgrade.
    conn.execute("BEGIN IMMEDIATE")
    try:
        whole = len(rows) - len(rows) % _PER_INSERT
        conn.executemany(
            _INSERT_MANY,
            (
                tuple(chain.from_iterable(rows[i : i + _PER_INSERT]))
                for i in range(0, whole, _PER_INSERT)
            ),
        )
        conn.executemany(_INSERT, rows[whole:])
        conn.execute("COMMIT")
    except Exception:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def to_rows(events: Sequence[Event]) -> list[tuple[Any, ...]]:
    """The parameter tuples of ``events``, leaving out (and logging) any that cannot be stored."""
    out: list[tuple[Any, ...]] = []
    append = out.append
    # Local names: this loop is most of what a batch costs in Python.
    dumps = dumps_str
    format_ns = event_module.format_ns
    null = _NULL
    for event in events:
        try:
            name = event.name
            if type(name) is not str:
                raise ValueError(f"name must be a string, got {name!r}")
            value = event.value
            if value is None:
                value = null
            elif type(value) is not float:
                value = float(value)
            kind = event.kind
            goal = event.goal
            currency = event.currency
            transaction_id = event.transaction_id
            visitor_id = event.visitor_id
            session_id = event.session_id
            user_id = event.user_id
            # What Event.to_dict() stores, without building the dict: an event made by
            # the tracker carries its clock reading, formatted with the date part cached
            # per second (building a datetime first costs four times as much).
            ts = event._timestamp
            append(
                (
                    event.event_id,
                    name,
                    null if kind is None else kind,
                    null if goal is None else goal,
                    value,
                    null if currency is None else currency,
                    null if transaction_id is None else transaction_id,
                    format_ns(event._ns) if ts is None else format_timestamp(ts),
                    null if visitor_id is None else visitor_id,
                    null if session_id is None else session_id,
                    null if user_id is None else user_id,
                    dumps(event.properties),
                    dumps(event.context),
                )
            )
        except Exception as exc:
            _log.error(
                "event %s (%r) cannot be stored and is dropped: %s",
                event.event_id,
                event.name,
                exc,
            )
    return out
