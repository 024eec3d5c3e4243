"""Rollups: a SQLite store's events summed up per visitor and UTC day, kept up to date.

``convsdk rollup sqlite:///convsdk.db`` (:func:`roll_up`) folds the events stored since
its last run into per-day summaries in the same database; a report then reads those
for the whole days of its range and only the rest as events: the partial days at its
edges and the events stored since. The figures are the same as from the events alone
(the tests compare them to the last digit); ``convsdk report --no-rollups``
(``load_report(..., rollups=False)``) reads the events alone.

What is kept, per (visitor, day), is what the events say, never what the report makes
of them (:mod:`.state`): the first event's referrer, URL, user agent and UTM
parameters, every UTM touch and possible arrival, the earliest variant, the
conversions per goal (count, first and last, their times, revenue per currency) and,
apart, each conversion with a transaction id. Per day (:mod:`.totals`): events, first
and last, the events without a visitor (all, plain interactions, server-side, their
user ids), their conversions, every goal's kind. Beside them, the conversions with a
transaction id (which of a repeated one counts is settled over the report's range,
:mod:`.transactions`) and the links between visitor and user ids (:mod:`.linked`).
Two states of one key merge (associative and commutative), so late events simply
join their day.

**Incremental.** Rows are rolled up by rowid (:mod:`.refresh`): a row stored later has
a larger one, so each run reads only the rows stored since the last (the
*watermark*), whatever their timestamps: a late event, or a spool replayed days later
with its old timestamps, merges into its own day. A report reads the rows after the
watermark as events, so it is always up to date. Run it as often as reports are
wanted faster, from cron for instance::

    15 * * * *  convsdk rollup sqlite:////var/lib/shop/convsdk.db

**When to rebuild.** Deleting events (an erasure request) leaves them in the rollups:
run ``convsdk rollup --rebuild`` after. A table rewritten under the rollups (a
``VACUUM`` after deletions renumbers rows; a restored or recreated table) is noticed by
the event at the watermark: reports then read the events, and the next ``convsdk
rollup`` rebuilds.

**PostgreSQL** is not rolled up: its rows have no insertion order to keep a watermark
by (a sequence or timestamp column filled on insert does not tell the order in which
concurrent transactions commit). It would take a column the backend fills from a
sequence and a watermark kept behind the oldest transaction still open
(``pg_snapshot_xmin``), or rows moved through a queue table.

Modules: :mod:`.state`, :mod:`.totals` (the states), :mod:`.fold` (events to states),
:mod:`.schema` (tables, watermark), :mod:`.refresh` (``convsdk rollup``), :mod:`.span`,
:mod:`.transactions`, :mod:`.finish`, :mod:`.linked`, :mod:`.stream`, :mod:`.assemble`
and :mod:`.reader` (:class:`RollupReader`: reports through rollups).
"""

from __future__ import annotations

from .postgres_reader import PostgresRollupReader
from .refresh import roll_up
from .result import RollupResult
from .sqlite_reader import RollupReader

__all__ = ["PostgresRollupReader", "RollupReader", "RollupResult", "roll_up"]
