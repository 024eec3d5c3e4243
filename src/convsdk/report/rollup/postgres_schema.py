"""A PostgreSQL store's rollup tables (:mod:`.schema` tells what they hold) and watermark.

Beside the events table, in its schema, named after it (``convsdk_events_rollup_days``
...): a database may hold several events tables, each with rollups of its own. Their
names must fit PostgreSQL's 63 characters, so the events table's own name may have at
most :data:`MAX_TABLE` of them.

The watermark (:class:`Mark`) is a transaction snapshot (``pg_current_snapshot()``) taken
by the run that last brought the rollups up to date, in the transaction that wrote them:
they hold every row whose ``xid`` (the transaction that stored it, see
:mod:`convsdk.backends.postgres.schema`) is visible in it, and none other. Beside it,
what tells that the table was swapped under them: its oid (a table dropped and made
again, restored), its file node (``TRUNCATE``; also ``VACUUM FULL`` and ``CLUSTER``,
which then cost a rebuild), and a row rolled up (its event id and transaction id: gone
or stored again, the rows were deleted or copied back).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ...errors import ConfigError
from .schema import FORMAT, LONGEST_SUFFIX, RollupNames

if TYPE_CHECKING:
    import psycopg

__all__ = [
    "MAX_TABLE",
    "Mark",
    "postgres_names",
    "quoted",
    "read_mark",
    "schema_statements",
    "stale_reason",
    "table_identity",
    "write_mark",
]

#: The longest events table name rollups can be named after.
MAX_TABLE = 63 - LONGEST_SUFFIX


def quoted(table: str) -> str:
    """A table name checked by :func:`~convsdk.report.sql.options.table_name` (letters,
    digits and underscores, optionally ``schema.table``), as quoted identifiers."""
    return ".".join(f'"{part}"' for part in table.split("."))


def postgres_names(table: str, source: str) -> RollupNames:
    """The rollup tables of the events table ``table`` (as quoted SQL).

    Raises :class:`convsdk.ConfigError` naming the ``table`` option when its name is too
    long for theirs.
    """
    *schema, base = table.split(".")
    if len(base) > MAX_TABLE:
        raise ConfigError(
            f"{base!r} is too long to name rollup tables after ({base}_rollup_visitor_days "
            f"would pass PostgreSQL's 63 characters): rollups need a table name of at most "
            f"{MAX_TABLE} characters",
            field="table",
            source=source,
        )
    return RollupNames.of(base, schema[0] if schema else None, quote=True)


def schema_statements(names: RollupNames, table: str) -> list[str]:
    """The statements creating the rollup tables of ``table`` if missing. Visitor ids
    sort as Python sorts them (``COLLATE "C"``), for the report's merge by visitor."""
    base = table.split(".")[-1]
    return [
        f"""CREATE TABLE IF NOT EXISTS {names.visitor_days} (
              visitor_id text COLLATE "C" NOT NULL, day integer NOT NULL,
              state bytea NOT NULL, PRIMARY KEY (visitor_id, day))""",
        f'CREATE INDEX IF NOT EXISTS "{base}_rollup_vd_day" ON {names.visitor_days} (day)',
        f"""CREATE TABLE IF NOT EXISTS {names.days} (
              day integer PRIMARY KEY, state bytea NOT NULL)""",
        f"""CREATE TABLE IF NOT EXISTS {names.transactions} (
              goal text NOT NULL, transaction_id text NOT NULL, event_id text NOT NULL,
              timestamp bigint NOT NULL, kind text NOT NULL, day integer NOT NULL,
              shared boolean NOT NULL DEFAULT false,
              PRIMARY KEY (goal, transaction_id, event_id))""",
        f'CREATE INDEX IF NOT EXISTS "{base}_rollup_shared" '
        f"ON {names.transactions} (day) WHERE shared",
        f"""CREATE TABLE IF NOT EXISTS {names.links} (
              day integer NOT NULL, visitor_id text NOT NULL, user_id text NOT NULL,
              PRIMARY KEY (day, visitor_id, user_id))""",
        f"""CREATE TABLE IF NOT EXISTS {names.counts} (
              report text PRIMARY KEY, definition text NOT NULL, spec text NOT NULL,
              watermark text NOT NULL, state bytea NOT NULL)""",
        f"""CREATE TABLE IF NOT EXISTS {names.watermark} (
              id integer PRIMARY KEY CHECK (id = 1), events_table text NOT NULL,
              table_oid oid NOT NULL, filenode oid, snapshot pg_snapshot NOT NULL,
              probe_id text, probe_xid xid8, events bigint NOT NULL, format integer NOT NULL,
              updated_at text NOT NULL)""",
    ]


@dataclass(frozen=True, slots=True)
class Mark:
    """How far the rollups go: every row of ``table`` stored by a transaction visible in
    ``snapshot`` is in, and no other."""

    table: str
    table_oid: int
    filenode: int | None
    snapshot: str
    """``pg_current_snapshot()`` as text: ``xmin:xmax:xip,...``."""
    probe_id: str | None
    """The event id of a row rolled up (``None``: none was)."""
    probe_xid: str | None
    """Its transaction id."""
    events: int
    """How many events the rollups hold."""
    format: int
    updated_at: str
    """When the rollups were last brought up to date (ISO-8601, UTC)."""

    @property
    def text(self) -> str:
        """The watermark as text: the snapshot rolled up, and when (another text, other
        rollups)."""
        return f"{self.snapshot} {self.updated_at}"


def read_mark(conn: psycopg.Connection[Any], names: RollupNames) -> Mark | None:
    """The rollups' watermark; ``None`` when there are none (in the caller's transaction:
    a missing table aborts it)."""
    row = conn.execute(
        "SELECT events_table, table_oid::bigint, filenode::bigint, snapshot::text, probe_id, "
        f"probe_xid::text, events, format, updated_at FROM {names.watermark} WHERE id = 1"
    ).fetchone()
    return None if row is None else Mark(*row)


def write_mark(conn: psycopg.Connection[Any], names: RollupNames, mark: Mark) -> None:
    """Store ``mark`` (inside the caller's transaction)."""
    conn.execute(
        f"INSERT INTO {names.watermark} VALUES (1, %s, %s, %s, %s::pg_snapshot, %s, "
        "%s::xid8, %s, %s, %s) ON CONFLICT (id) DO UPDATE SET events_table = "
        "EXCLUDED.events_table, table_oid = EXCLUDED.table_oid, filenode = EXCLUDED.filenode, "
        "snapshot = EXCLUDED.snapshot, probe_id = EXCLUDED.probe_id, probe_xid = "
        "EXCLUDED.probe_xid, events = EXCLUDED.events, format = EXCLUDED.format, "
        "updated_at = EXCLUDED.updated_at",
        [
            mark.table,
            mark.table_oid,
            mark.filenode,
            mark.snapshot,
            mark.probe_id,
            mark.probe_xid,
            mark.events,
            mark.format,
            mark.updated_at,
        ],
    )


def table_identity(conn: psycopg.Connection[Any], table: str) -> tuple[int, int | None]:
    """The events table's oid and file node."""
    row = conn.execute(
        "SELECT oid::bigint, pg_relation_filenode(oid)::bigint FROM pg_class "
        "WHERE oid = to_regclass(%s)",
        [quoted(table)],
    ).fetchone()
    if row is None:
        raise ConfigError(f"no {table} table in this database", field="table")
    return int(row[0]), None if row[1] is None else int(row[1])


def stale_reason(conn: psycopg.Connection[Any], mark: Mark, table: str) -> str | None:
    """Why the rollups cannot stand for the events of ``table``; ``None`` if they can.

    A deletion alone is not noticed unless it takes the row the watermark keeps: the
    rollups then still count the deleted events (rebuild them after an erasure).
    """
    if mark.format != FORMAT:
        return "they were made by another version of convsdk"
    oid, filenode = table_identity(conn, table)
    if oid != mark.table_oid:
        return "the events table was made again since (dropped, restored, renamed)"
    if filenode != mark.filenode:
        return "the events table was emptied or rewritten since (TRUNCATE, VACUUM FULL)"
    if mark.probe_id is not None:
        found = conn.execute(
            f"SELECT 1 FROM {quoted(table)} "
            "WHERE event_id = %s AND xid IS NOT DISTINCT FROM %s::xid8",
            [mark.probe_id, mark.probe_xid],
        ).fetchone()
        if found is None:
            return "events rolled up were deleted or stored again since"
    return None
