"""``convsdk rollup URL``: bring a store's rollups up to date with its events.

Each store keeps its own watermark: SQLite by rowid (:mod:`.sqlite_refresh`),
PostgreSQL by transaction snapshot (:mod:`.postgres_refresh`).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ..._urls import redact_url
from ...errors import ConfigError
from .result import RollupResult
from .sqlite_refresh import keep_sqlite, roll_up_sqlite

if TYPE_CHECKING:
    from .counted import KeptReport
    from .through import ThroughRollups

__all__ = ["BATCH", "ROLLUP_SCHEMES", "kept_reports", "roll_up"]

_log = logging.getLogger("convsdk.report")

#: Events folded and stored at a time (per transaction in SQLite).
BATCH = 50_000
#: The URL schemes of stores that keep rollups.
ROLLUP_SCHEMES = ("sqlite", "postgresql", "postgres")


def roll_up(
    url: str, *, rebuild: bool = False, batch: int = BATCH, keep: KeptReport | None = None
) -> RollupResult:
    """Bring the rollups of the store at ``url`` (``sqlite:///events.db`` or
    ``postgresql://...``, ``?table=`` as for reports) up to date; ``rebuild`` makes them
    again from nothing. Then count the report kept counted over them, and keep its
    counts: ``keep`` (a :class:`~.counted.KeptReport`), which replaces the one kept
    before, else the one kept before if any. The same report then recounts only the
    people changed since (:mod:`.counted`).

    Raises :class:`convsdk.ConfigError` for a store that cannot have rollups (another
    kind of store, no such database or table, a SQLite table of the first layout, a
    SQLite database holding rollups of another table without ``rebuild``, a PostgreSQL
    table name too long to name its rollups after) and :class:`convsdk.BackendError`
    when reading or writing fails.
    """
    scheme = urlsplit(url).scheme.lower() if "://" in url else ""
    if scheme == "sqlite":
        done = roll_up_sqlite(url, rebuild=rebuild, batch=batch)
    elif scheme in ROLLUP_SCHEMES:
        from .postgres_refresh import roll_up_postgres

        done = roll_up_postgres(url, rebuild=rebuild, batch=batch)
    else:
        raise ConfigError(
            "rollups are kept for SQLite and PostgreSQL stores: give a sqlite:/// URL, a "
            ".db path or a postgresql:// URL",
            field="url",
            source=redact_url(url),
        )
    unchanged = done.previous if done.events == 0 and done.rebuilt is None else None
    _keep(url, scheme, keep, unchanged)
    return done


def _keep(url: str, scheme: str, report: KeptReport | None, unchanged: str | None) -> None:
    """Count the report to keep counted over the rollups just brought up to date, and
    keep its counts: ``report``, which then replaces any kept before, else each one kept
    before (``unchanged``: the watermark before a run that rolled nothing up, whose
    counts are carried over, not counted again)."""
    from .counted import count_rollups

    reader = _rollup_reader(url, scheme)
    reports = _kept_reports(url, reader) if report is None else [report]
    for kept in reports:
        try:
            counted = count_rollups(reader, kept, unchanged)
        except ConfigError as exc:
            if report is not None:
                raise
            _log.warning("%s: a kept report is not counted again: %s", redact_url(url), exc)
            continue
        if counted is None:
            continue  # no rollups
        if scheme == "sqlite":
            keep_sqlite(url, counted, only=report is not None)
        else:
            from .postgres_refresh import keep_postgres

            keep_postgres(url, counted, only=report is not None)


def kept_reports(url: str) -> list[KeptReport]:
    """The reports whose counts the store at ``url`` keeps beside its rollups (none
    without rollups); one kept by another version of convsdk is left out (logged)."""
    scheme = urlsplit(url).scheme.lower() if "://" in url else ""
    return _kept_reports(url, _rollup_reader(url, scheme))


def _rollup_reader(url: str, scheme: str) -> ThroughRollups[Any]:
    if scheme == "sqlite":
        from ..sql import SQLiteReader
        from .sqlite_reader import RollupReader

        return RollupReader(SQLiteReader.from_url(url))
    from ..sql import PostgresReader
    from .postgres_reader import PostgresRollupReader

    return PostgresRollupReader(PostgresReader.from_url(url))


def _kept_reports(url: str, reader: ThroughRollups[Any]) -> list[KeptReport]:
    from .counted import KeptReport, kept_definitions

    reports = []
    for definition in kept_definitions(reader):
        try:
            reports.append(KeptReport.from_definition(definition))
        except ValueError as exc:  # InconsistentState: another version's, say
            _log.warning("%s: a kept report is not counted again: %s", redact_url(url), exc)
    return reports
