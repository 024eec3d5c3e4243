"""Erasing people: their events deleted from a store, and what was made of them made again.

An erasure request (GDPR article 17, the CCPA's right to delete) names a person by the
user id the site gave them (``identify()``), or by a visitor id (the cookie's). A person
is every visitor id linked to their user id (each browser they logged in from) and the
events carrying the user id itself (server-side ones without a visitor)::

    convsdk forget sqlite:///convsdk.db --user u-1042
    convsdk forget postgresql://shop@db/analytics --visitor 3xQ9...  --dry-run

:func:`forget` deletes those events in one transaction. The rollups hold per-visitor
summaries of them (first pages, user agents, touches, orders), so a store that has
rollups gets them made again without the people (``convsdk rollup --rebuild``), its
report kept counted with them. In SQLite the deleted rows and the dropped rollups are
overwritten with zeros (``secure_delete``) and the write-ahead log is checkpointed, so
the database file no longer holds them; PostgreSQL frees the deleted rows' space at its
next ``VACUUM``. A JSON Lines log's files are written again without their lines, the
old bytes overwritten, while writers wait (:mod:`convsdk.backends.file.erase`). A
tracker's spool may hold events of theirs not yet delivered: ``spools=`` counts them
(:attr:`Erasure.waiting`) and adds the people to the spool's list of erased people
(:mod:`convsdk.delivery.erasures`), so that its trackers do not deliver their events
from before the erasure, waiting there or in a queue. Copies outside the store are the
site's to erase: backups, the server's logs.

A visitor linked to the user id is erased whole, though another user id may share the
browser (a family's laptop): erasing more than asked keeps the request's promise.
Events stored after the erasure are a new visitor's.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from .._json import dumps_str
from .._urls import redact_url
from ..backends.file.erase import erase_log, spool_links, waiting
from ..delivery.erasures import record
from ..errors import BackendError, ConfigError
from .rollup import RollupResult, roll_up
from .rollup.postgres_schema import postgres_names, quoted
from .rollup.refresh import ROLLUP_SCHEMES, kept_reports
from .rollup.schema import RollupNames
from .rollup.sqlite_schema import NAMES, read_watermark

__all__ = ["Erasure", "forget"]


@dataclass(frozen=True, slots=True)
class Erasure:
    """What :func:`forget` erased (or, with ``dry_run``, would erase)."""

    users: tuple[str, ...]
    """The user ids named."""
    visitors: tuple[str, ...]
    """Every visitor id erased: those named, and those linked to the user ids."""
    events: int
    """The events deleted (with ``dry_run``: that would be)."""
    rollups: RollupResult | None
    """The rollups made again without them; ``None`` when the store has none, nothing
    was deleted, or ``dry_run``."""
    dry_run: bool = False
    waiting: int = 0
    """Events of theirs still in the spools given. Trackers of this version leave them
    out when they replay the spool (the spool's list of erased people); one of an earlier
    version stores them, so erase again once it has."""


def forget(
    url: str,
    *,
    users: Iterable[str] = (),
    visitors: Iterable[str] = (),
    dry_run: bool = False,
    spools: Iterable[str | os.PathLike[str]] = (),
) -> Erasure:
    """Delete the events of the people named from the store at ``url`` (as for reports:
    ``sqlite:///convsdk.db``, ``postgresql://...?table=``, ``file:///events.jsonl``), and
    make the store's rollups again without them (see the module). A log's files are
    rewritten without their lines (:mod:`convsdk.backends.file.erase`).

    ``users``: user ids, each with every visitor id linked to it; ``visitors``: visitor
    ids. ``dry_run`` counts what would be erased and changes nothing. ``spools``: the
    trackers' spool directories, searched for their events still waiting
    (:attr:`Erasure.waiting`), and given the erasure in their list of erased people
    (:mod:`convsdk.delivery.erasures`; not with ``dry_run``).

    Raises :class:`convsdk.ConfigError` when nobody is named, the store cannot be erased
    from (another kind, no such database or table) or a spool's list cannot be written
    (after the store's erasure), :class:`convsdk.BackendError` when reading or writing
    the store fails.
    """
    named_users = tuple(sorted({_named(u, "users") for u in users}))
    named_visitors = {_named(v, "visitors") for v in visitors}
    if not named_users and not named_visitors:
        raise ConfigError("name the people to forget: a user id or a visitor id", field="users")
    scheme = urlsplit(url).scheme.lower() if "://" in url else ""
    rollups = None
    if scheme == "file":
        from ..backends.file import FileBackend

        path = FileBackend.from_url(url).path
        linked, events = erase_log(path, named_users, named_visitors, dry_run)
    elif scheme in ROLLUP_SCHEMES:
        linked, events, rollups = _erase_store(url, scheme, named_users, named_visitors, dry_run)
    else:
        raise ConfigError(
            "events are erased from a SQLite or PostgreSQL store or a JSON Lines log: give "
            "a sqlite:/// URL or .db path, a postgresql:// URL, or a file:// URL or .jsonl "
            "path",
            field="url",
            source=redact_url(url),
        )
    directories = [Path(spool) for spool in spools]
    waiting_links = {v for d in directories for v in spool_links(d, named_users)}
    everyone = tuple(sorted(named_visitors | set(linked) | waiting_links))
    left = sum(waiting(directory, named_users, everyone) for directory in directories)
    if not dry_run:
        _list_in_spools(directories, named_users, everyone, events)
    return Erasure(named_users, everyone, events, rollups, dry_run, left)


def _list_in_spools(
    directories: list[Path], users: tuple[str, ...], visitors: tuple[str, ...], events: int
) -> None:
    """Add the people erased (after ``events`` were from the store) to each spool's list
    (:mod:`convsdk.delivery.erasures`)."""
    at = time.time()
    for directory in directories:
        try:
            record(directory, users=users, visitors=visitors, at=at)
        except OSError as exc:
            raise ConfigError(
                f"erased {events:,} events from the store, but cannot list the people "
                f"erased in the spool ({exc}): its trackers would deliver their events "
                "waiting there; run the erasure again once it is writable",
                field="spools",
                source=str(directory),
            ) from exc


def _erase_store(
    url: str, scheme: str, users: tuple[str, ...], visitors: set[str], dry_run: bool
) -> tuple[list[str], int, RollupResult | None]:
    """Erase from a SQL store, then make its rollups again without them."""
    kept = [] if dry_run else kept_reports(url)  # before the rollups go
    erase = _erase_sqlite if scheme == "sqlite" else _erase_postgres
    linked, events, had_rollups = erase(url, users, sorted(visitors), dry_run)
    if not (events and had_rollups and not dry_run):
        return linked, events, None
    try:
        return linked, events, roll_up(url, rebuild=True, keep=kept[0] if kept else None)
    except (BackendError, ConfigError) as exc:
        raise BackendError(
            f"erased {events} events, but the rollups could not be made again without "
            f"them ({exc}): run convsdk rollup --rebuild on the store",
            backend=redact_url(url),
        ) from exc


def _named(value: object, field: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"expected ids as non-empty text, got {value!r}", field=field)
    return value


def _erase_sqlite(
    url: str, users: tuple[str, ...], visitors: list[str], dry_run: bool
) -> tuple[list[str], int, bool]:
    """Delete in one transaction, overwriting what is deleted; drop the rollups (made
    again afterwards) in it too. ``(visitor ids linked, events, whether it had rollups)``."""
    from .sql import SQLiteReader

    reader = SQLiteReader.from_url(url)
    if not os.path.isfile(reader.path):
        raise ConfigError("no SQLite database here", field="url", source=reader.path)
    table = f'"{reader.table}"'
    try:
        conn = sqlite3.connect(
            f"file:{quote(reader.path)}?mode=rw",
            uri=True,
            timeout=reader.timeout,
            isolation_level=None,
        )
    except sqlite3.Error as exc:
        raise BackendError(f"cannot open {reader.path}: {exc}", backend="sqlite") from exc
    try:
        conn.execute("PRAGMA secure_delete = ON")
        conn.execute("BEGIN IMMEDIATE")  # the tracker waits (busy_timeout) for a moment
        try:
            found = _sqlite_erase(conn, table, users, visitors, dry_run)
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("ROLLBACK" if dry_run else "COMMIT")
        if not dry_run:
            # The pages the deletion overwrote, copied into the database file.
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return found
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):
            raise ConfigError(
                f"no {reader.table} table in this database", field="table", source=reader.path
            ) from exc
        raise BackendError(f"cannot erase from {reader.path}: {exc}", backend="sqlite") from exc
    except sqlite3.Error as exc:
        raise BackendError(f"cannot erase from {reader.path}: {exc}", backend="sqlite") from exc
    finally:
        conn.close()


def _sqlite_erase(
    conn: sqlite3.Connection, table: str, users: tuple[str, ...], visitors: list[str], dry_run: bool
) -> tuple[list[str], int, bool]:
    linked = [
        row[0]
        for row in conn.execute(
            f"SELECT DISTINCT visitor_id FROM {table} WHERE visitor_id IS NOT NULL "
            "AND user_id IN (SELECT value FROM json_each(?))",
            [dumps_str(list(users))],
        )
    ]
    ids = dumps_str(sorted({*visitors, *linked}))
    where = (
        "visitor_id IN (SELECT value FROM json_each(?)) "
        "OR user_id IN (SELECT value FROM json_each(?))"
    )
    params = [ids, dumps_str(list(users))]
    mark = read_watermark(conn)  # the database's rollups may be another table's
    had_rollups = mark is not None and f'"{mark.table}"' == table
    if dry_run:
        (events,) = conn.execute(f"SELECT COUNT(*) FROM {table} WHERE {where}", params).fetchone()
        return linked, int(events), had_rollups
    events = conn.execute(f"DELETE FROM {table} WHERE {where}", params).rowcount
    if events and had_rollups:
        for name in _rollup_tables(NAMES):
            conn.execute(f"DROP TABLE IF EXISTS {name}")
    return linked, events, had_rollups


def _rollup_tables(names: RollupNames) -> tuple[str, ...]:
    """The rollup tables to drop with the events: all but the counts of the report kept,
    which hold sums, not people, and are counted again with the rollups."""
    return tuple(name for name in names.all() if name != names.counts)


def _erase_postgres(
    url: str, users: tuple[str, ...], visitors: list[str], dry_run: bool
) -> tuple[list[str], int, bool]:
    """Delete in one transaction. ``(visitor ids linked, events, whether it has
    rollups)``; they are made again afterwards (``roll_up`` drops the old tables)."""
    from .sql import PostgresReader

    reader = PostgresReader.from_url(url)
    conn = reader.connect()  # a ConfigError without psycopg
    import psycopg

    table = quoted(reader.table)
    try:
        linked = [
            row[0]
            for row in conn.execute(
                f"SELECT DISTINCT visitor_id FROM {table} WHERE visitor_id IS NOT NULL "
                "AND user_id = ANY(%s)",
                [list(users)],
            )
        ]
        params: list[Any] = [sorted({*visitors, *linked}), list(users)]
        where = "visitor_id = ANY(%s) OR user_id = ANY(%s)"
        watermark = postgres_names(reader.table, reader.source).watermark
        found = conn.execute("SELECT to_regclass(%s)", [watermark]).fetchone()
        had_rollups = found is not None and found[0] is not None
        if dry_run:
            row = conn.execute(f"SELECT COUNT(*) FROM {table} WHERE {where}", params).fetchone()
            conn.rollback()
            return linked, int(row[0]) if row else 0, had_rollups
        events = conn.execute(f"DELETE FROM {table} WHERE {where}", params).rowcount
        conn.commit()
        return linked, events, had_rollups
    except psycopg.Error as exc:
        raise BackendError(
            f"cannot erase from {reader.table}: {str(exc).strip()}", backend=reader.source
        ) from exc
    finally:
        conn.close()
