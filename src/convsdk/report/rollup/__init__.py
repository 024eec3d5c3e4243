"""Rollups: a SQL store's events summed up per visitor and UTC day, kept up to date.

``convsdk rollup sqlite:///convsdk.db`` (or ``postgresql://...``; :func:`roll_up`)
folds the events stored since its last run into per-day summaries in the same
database; a report then reads those for the whole days of its range and only the rest
as events: the partial days at its edges and the events stored since. The figures are
the same as from the events alone (the tests compare them to the last digit);
``convsdk report --no-rollups`` (``load_report(..., rollups=False)``) reads the events
alone.

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

**Incremental (SQLite).** Rows are rolled up by rowid (:mod:`.sqlite_refresh`): a row
stored later has a larger one, so each run reads only the rows stored since the last (the
*watermark*), whatever their timestamps: a late event, or a spool replayed days later
with its old timestamps, merges into its own day. A report reads the rows after the
watermark as events, so it is always up to date. Run it as often as reports are
wanted faster, from cron for instance::

    15 * * * *  convsdk rollup sqlite:////var/lib/shop/convsdk.db

**A report kept counted** (:mod:`.counted`). ``convsdk rollup URL --goals goals.toml``
(``roll_up(url, keep=KeptReport(...))``) also counts that report over the rollups and
keeps its counts (one report a store, the last one named); each later run counts it
again (or carries them over, having rolled nothing up). The same report then recounts
only the people the events after the watermark change, with the bot verdicts on the user
agents kept beside the counts (:mod:`.agents`). ::

    15 * * * *  convsdk rollup sqlite:////var/lib/shop/convsdk.db --goals /etc/shop/goals.toml

**When to rebuild.** Deleting events (an erasure request) leaves them in the rollups:
run ``convsdk rollup --rebuild`` after. A table rewritten under the rollups (a
``VACUUM`` after deletions renumbers rows; a restored or recreated table) is noticed by
the event at the watermark: reports then read the events, and the next ``convsdk
rollup`` rebuilds.

**PostgreSQL** rows have no insertion order: a sequence or a timestamp filled on insert
does not tell the order in which concurrent transactions commit, so a watermark by the
largest one loses the rows of a transaction that commits after a younger one was rolled
up. The watermark is a transaction snapshot instead (:mod:`.postgres_refresh`): every
row holds the id of the transaction that stored it (the ``xid`` column the backend's
table has, :mod:`convsdk.backends.postgres.schema`; the first rollup adds it to a table
of an earlier version, in place), a run folds the rows whose transaction its snapshot
sees and the last run's did not, and stores its snapshot with the rollups, in one
transaction; a transaction open meanwhile is taken by the first run after it commits.
Reports read the rows the stored snapshot does not see as events. The rollups live
beside the events table, named after it (``convsdk_events_rollup_days``...); a table
dropped and made again, restored, truncated or rewritten (also by ``VACUUM FULL``, which
costs a rebuild), or rows deleted and stored again, are noticed. ::

    15 * * * *  convsdk rollup 'postgresql://report@db/shop?table=convsdk_events'

Known limits, both stores: deleted events stay in the rollups until ``--rebuild``; an
``UPDATE`` of a stored event is not noticed (events are not meant to change); on
PostgreSQL, rollups run against a replica are untested.

Modules: :mod:`.state`, :mod:`.totals` (the states), :mod:`.fold` and
:mod:`.postgres_fold` (events to states), :mod:`.merge` (states into the stored ones),
:mod:`.schema` (tables), :mod:`.sqlite_schema` and :mod:`.postgres_schema` (tables,
watermark), :mod:`.refresh` (``convsdk rollup``) with :mod:`.sqlite_refresh`,
:mod:`.postgres_refresh` and :mod:`.result`; reading: :mod:`.span`, :mod:`.source`
(what a report reads) with :mod:`.sqlite_source` and :mod:`.postgres_source`,
:mod:`.transactions`, :mod:`.finish`, :mod:`.linked`, :mod:`.stream`, :mod:`.assemble`,
:mod:`.counted` (reports kept counted),
and the readers :mod:`.sqlite_reader` (:class:`RollupReader`) and :mod:`.postgres_reader`
(:class:`PostgresRollupReader`).
"""

from __future__ import annotations

from .counted import KeptReport
from .postgres_reader import PostgresRollupReader
from .refresh import roll_up
from .result import RollupResult
from .sqlite_reader import RollupReader

__all__ = ["KeptReport", "PostgresRollupReader", "RollupReader", "RollupResult", "roll_up"]
