"""``convsdk rollup URL``: bring a store's rollups up to date with its events.

Each store keeps its own watermark: SQLite by rowid (:mod:`.sqlite_refresh`),
PostgreSQL by transaction snapshot (:mod:`.postgres_refresh`).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from ..._urls import redact_url
from ...errors import ConfigError
from .result import RollupResult
from .sqlite_refresh import roll_up_sqlite

__all__ = ["BATCH", "ROLLUP_SCHEMES", "roll_up"]

#: Events folded and stored at a time (per transaction in SQLite).
BATCH = 50_000
#: The URL schemes of stores that keep rollups.
ROLLUP_SCHEMES = ("sqlite", "postgresql", "postgres")


def roll_up(url: str, *, rebuild: bool = False, batch: int = BATCH) -> RollupResult:
    """Bring the rollups of the store at ``url`` (``sqlite:///events.db`` or
    ``postgresql://...``, ``?table=`` as for reports) up to date; ``rebuild`` makes them
    again from nothing.

    Raises :class:`convsdk.ConfigError` for a store that cannot have rollups (another
    kind of store, no such database or table, a SQLite table of the first layout, a
    SQLite database holding rollups of another table without ``rebuild``, a PostgreSQL
    table name too long to name its rollups after) and :class:`convsdk.BackendError`
    when reading or writing fails.
    """
    scheme = urlsplit(url).scheme.lower() if "://" in url else ""
    if scheme == "sqlite":
        return roll_up_sqlite(url, rebuild=rebuild, batch=batch)
    if scheme in ROLLUP_SCHEMES:
        from .postgres_refresh import roll_up_postgres

        return roll_up_postgres(url, rebuild=rebuild, batch=batch)
    raise ConfigError(
        "rollups are kept for SQLite and PostgreSQL stores: give a sqlite:/// URL, a .db "
        "path or a postgresql:// URL",
        field="url",
        source=redact_url(url),
    )
