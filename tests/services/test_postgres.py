"""PostgresBackend, migrate and read_events against a real PostgreSQL server."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from convsdk.backends import from_url
from convsdk.errors import BackendError, ConfigError
from convsdk.event import make_event
from convsdk.testing import assert_events_equal, numbered_events, round_trip_events

psycopg = pytest.importorskip("psycopg")

from convsdk.backends.postgres import PostgresBackend, migrate, read_events  # noqa: E402

pytestmark = pytest.mark.services


def _table(url: str) -> str:
    return urlsplit(url).query.split("table=")[1].split("&")[0]


def _count(server_url: str, table: str) -> int:
    with psycopg.connect(server_url) as conn:
        row = conn.execute(f'SELECT count(*) FROM "{table}"').fetchone()
    assert row is not None
    return int(row[0])


def test_round_trip_of_every_field(postgres_events_url: str) -> None:
    events = round_trip_events()
    backend = from_url(postgres_events_url)
    try:
        backend.write(events)
    finally:
        backend.close()
    back = list(read_events(postgres_events_url))
    assert_events_equal(events, back, ordered=False)
    assert [e.timestamp for e in back] == sorted(e.timestamp for e in events)
    assert all(e.timestamp.tzinfo is UTC for e in back)


def test_table_and_indexes_are_created_on_first_use(
    postgres_url: str, postgres_events_url: str
) -> None:
    table = _table(postgres_events_url)
    backend = PostgresBackend.from_url(postgres_events_url)
    try:
        backend.write(numbered_events(2))
    finally:
        backend.close()
    with psycopg.connect(postgres_url) as conn:
        columns = conn.execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_name = %s ORDER BY ordinal_position",
            [table],
        ).fetchall()
        indexes = conn.execute(
            "SELECT indexdef FROM pg_indexes WHERE tablename = %s", [table]
        ).fetchall()
    assert [c[0] for c in columns] == [
        "event_id", "name", "kind", "goal", "value", "currency", "transaction_id",
        "timestamp", "visitor_id", "session_id", "user_id", "properties", "context", "xid",
    ]  # fmt: skip
    types = dict(columns)
    assert types["timestamp"] == "timestamp with time zone"
    assert types["properties"] == types["context"] == "jsonb"
    assert types["value"] == "double precision"
    defs = " | ".join(row[0] for row in indexes)
    assert "(event_id)" in defs
    assert '("timestamp")' in defs or "(timestamp)" in defs
    assert '(visitor_id, "timestamp")' in defs or "(visitor_id, timestamp)" in defs
    assert '(goal, "timestamp")' in defs or "(goal, timestamp)" in defs
    assert "(xid)" in defs


def test_migrate_creates_the_table_and_is_idempotent(
    postgres_url: str, postgres_events_url: str
) -> None:
    migrate(postgres_events_url)
    migrate(postgres_events_url)
    assert _count(postgres_url, _table(postgres_events_url)) == 0
    assert list(read_events(postgres_events_url)) == []


def _old_table(server_url: str, table: str, events: int) -> None:
    """A table as an earlier convsdk made it (no xid column), holding ``events`` rows."""
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(
            f'CREATE TABLE "{table}" (event_id TEXT PRIMARY KEY, name TEXT NOT NULL, kind TEXT, '
            "goal TEXT, value DOUBLE PRECISION, currency TEXT, transaction_id TEXT, "
            "timestamp TIMESTAMPTZ NOT NULL, visitor_id TEXT, session_id TEXT, user_id TEXT, "
            "properties JSONB NOT NULL, context JSONB NOT NULL)"
        )
        conn.execute(
            f"INSERT INTO \"{table}\" SELECT 'old-' || n, 'page_view', NULL, NULL, NULL, NULL, "
            "NULL, now(), 'v', NULL, NULL, '{}', '{}' FROM generate_series(1, %s) n",
            [events],
        )


def _xid_state(server_url: str, table: str) -> tuple[int, int, bool]:
    """(rows, distinct xids, whether the xid index is there)."""
    with psycopg.connect(server_url) as conn:
        row = conn.execute(f'SELECT count(*), count(DISTINCT xid) FROM "{table}"').fetchone()
        index = conn.execute(
            "SELECT 1 FROM pg_indexes WHERE tablename = %s AND indexdef LIKE %s",
            [table, "%(xid)%"],
        ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1]), index is not None


def test_a_table_of_an_earlier_version_gets_the_xid_column_in_place(
    postgres_url: str, postgres_events_url: str
) -> None:
    table = _table(postgres_events_url)
    _old_table(postgres_url, table, 1000)
    with psycopg.connect(postgres_url) as conn:
        (before,) = conn.execute("SELECT pg_relation_filenode(%s)", [table]).fetchone() or (0,)
    backend = PostgresBackend.from_url(postgres_events_url)
    try:
        first = numbered_events(20)
        backend.write(first)  # the first write adds the column, not the index
        backend.write(first[:5] + numbered_events(5, tag="new"))  # re-sent: through the stage
    finally:
        backend.close()
    # The old rows share the xid of the ALTER TABLE; each batch has its own.
    assert _xid_state(postgres_url, table) == (1025, 3, False)
    migrate(postgres_events_url)  # the index
    assert _xid_state(postgres_url, table) == (1025, 3, True)
    with psycopg.connect(postgres_url) as conn:
        (after,) = conn.execute("SELECT pg_relation_filenode(%s)", [table]).fetchone() or (0,)
    assert after == before  # not rewritten


def test_a_busy_table_is_written_to_without_waiting_for_the_column(
    postgres_url: str, postgres_events_url: str
) -> None:
    table = _table(postgres_events_url)
    _old_table(postgres_url, table, 3)
    with psycopg.connect(postgres_url) as reading:
        reading.execute(f'SELECT count(*) FROM "{table}"')  # a long report holds a lock
        backend = PostgresBackend.from_url(postgres_events_url)
        try:
            backend.write(numbered_events(4))
        finally:
            backend.close()
        reading.rollback()
    with psycopg.connect(postgres_url) as conn:
        found = conn.execute(
            "SELECT 1 FROM information_schema.columns WHERE table_name = %s AND column_name = %s",
            [table, "xid"],
        ).fetchone()
    assert found is None
    assert _count(postgres_url, table) == 7


def test_a_resent_batch_is_stored_once(postgres_url: str, postgres_events_url: str) -> None:
    events = numbered_events(50, tag="resent")
    backend = from_url(postgres_events_url)
    try:
        backend.write(events[:20])
        backend.write(events)  # overlaps the first batch
        backend.write(events)  # wholly a duplicate
        backend.write(events[40:] + events[40:])  # duplicates within one batch
    finally:
        backend.close()
    assert _count(postgres_url, _table(postgres_events_url)) == 50
    assert_events_equal(events, read_events(postgres_events_url), ordered=False)


def test_survives_a_killed_connection_without_losing_or_doubling(
    postgres_url: str, postgres_events_url: str
) -> None:
    app_name = f"convsdk-kill-{_table(postgres_events_url)[-12:]}"
    backend = from_url(f"{postgres_events_url}&application_name={app_name}")
    batches = [numbered_events(100, tag=f"b{i}") for i in range(6)]
    failures = []
    try:
        for index, batch in enumerate(batches):
            if index == 3:
                with psycopg.connect(postgres_url, autocommit=True) as admin:
                    killed = admin.execute(
                        "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity "
                        "WHERE application_name = %s",
                        [app_name],
                    ).fetchall()
                assert killed == [(True,)]
            try:
                backend.write(batch)
            except BackendError as exc:
                failures.append(exc)
                backend.write(batch)  # what the dispatcher does: send the batch again
    finally:
        backend.close()
    assert len(failures) == 1
    assert failures[0].retryable and failures[0].backend == "postgresql"
    stored = [e.event_id for e in read_events(postgres_events_url)]
    assert len(stored) == len(set(stored)) == 600
    assert set(stored) == {e.event_id for batch in batches for e in batch}


def test_a_dropped_table_fails_one_batch_then_is_created_again(
    postgres_url: str, postgres_events_url: str
) -> None:
    table = _table(postgres_events_url)
    backend = from_url(postgres_events_url)
    try:
        backend.write(numbered_events(2, tag="before"))
        with psycopg.connect(postgres_url, autocommit=True) as admin:
            admin.execute(f'DROP TABLE "{table}"')
        after = numbered_events(3, tag="after")
        with pytest.raises(BackendError) as caught:
            backend.write(after)
        assert caught.value.retryable
        backend.write(after)
    finally:
        backend.close()
    assert_events_equal(after, read_events(postgres_events_url), ordered=False)


def test_read_events_since_until_in_timestamp_order(postgres_events_url: str) -> None:
    t0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
    events = [make_event("page_view", timestamp=t0 + timedelta(hours=h)) for h in (3, 0, 2, 1, 4)]
    backend = from_url(postgres_events_url)
    try:
        backend.write(events)
    finally:
        backend.close()
    window = list(
        read_events(
            postgres_events_url, since=t0 + timedelta(hours=1), until=t0 + timedelta(hours=3)
        )
    )
    assert [e.timestamp for e in window] == [t0 + timedelta(hours=1), t0 + timedelta(hours=2)]
    naive = list(read_events(postgres_events_url, since=datetime(2025, 3, 1, 15, 0)))
    assert [e.timestamp for e in naive] == [t0 + timedelta(hours=3), t0 + timedelta(hours=4)]


def test_nul_characters_are_replaced_not_fatal(postgres_events_url: str) -> None:
    event = make_event(
        "page_view",
        user_id="a\x00b",
        properties={"q": "x\x00y", "k\x00": ["\x00"]},
        context={"user_agent": "bot\x00"},
    )
    backend = from_url(postgres_events_url)
    try:
        backend.write([event])
    finally:
        backend.close()
    (stored,) = read_events(postgres_events_url)
    assert stored.event_id == event.event_id
    assert stored.user_id == "a\ufffdb"
    assert stored.properties == {"q": "x\ufffdy", "k\ufffd": ["\ufffd"]}
    assert stored.context == {"user_agent": "bot\ufffd"}


def test_unreachable_server_raises_a_retryable_error() -> None:
    backend = from_url("postgresql://postgres@127.0.0.1:1/test?connect_timeout=2")
    try:
        with pytest.raises(BackendError) as caught:
            backend.write(numbered_events(1))
    finally:
        backend.close()
    assert caught.value.retryable and caught.value.backend == "postgresql"


@pytest.mark.parametrize(
    "table", ["bad-name", "x; DROP TABLE users", "1abc", "a.b.c", "", "t" * 49]
)
def test_a_bad_table_name_is_a_config_error(table: str) -> None:
    with pytest.raises(ConfigError) as caught:
        from_url(f"postgresql://postgres@127.0.0.1/test?table={table}")
    assert caught.value.field == "table"


def test_bad_options_are_config_errors() -> None:
    with pytest.raises(ConfigError) as caught:
        from_url("postgresql://postgres@127.0.0.1/test?statement_timeout=soon")
    assert caught.value.field == "statement_timeout"
    with pytest.raises(ConfigError):
        from_url("postgresql://postgres@127.0.0.1/test?no_such_libpq_option=1")


def test_schema_qualified_table(postgres_url: str) -> None:
    table = f"convsdk_test_{uuid.uuid4().hex[:12]}"
    url = f"{postgres_url}?table=public.{table}"
    try:
        backend = from_url(url)
        try:
            backend.write(numbered_events(3))
        finally:
            backend.close()
        assert len(list(read_events(url))) == 3
    finally:
        with psycopg.connect(postgres_url, autocommit=True) as conn:
            conn.execute(f"DROP TABLE IF EXISTS public.{table}")


def test_a_url_without_host_keeps_its_empty_host(postgres_url: str) -> None:
    # postgresql:///db names the server in the query (or the local socket); the URL
    # given to libpq must keep its "//", or the database name is read as an option.
    parts = urlsplit(postgres_url)
    table = f"convsdk_test_{uuid.uuid4().hex[:12]}"
    server = f"host={parts.hostname}&port={parts.port or 5432}&user={parts.username}"
    url = f"postgresql://{parts.path}?{server}&table={table}"
    try:
        migrate(url)
        backend = from_url(url)
        try:
            backend.write(numbered_events(3))
        finally:
            backend.close()
        assert len(list(read_events(url))) == 3
    finally:
        with psycopg.connect(postgres_url, autocommit=True) as conn:
            conn.execute(f'DROP TABLE IF EXISTS "{table}"')


def test_read_events_of_a_missing_table_is_a_config_error(postgres_events_url: str) -> None:
    with pytest.raises(ConfigError) as caught:
        list(read_events(postgres_events_url))
    assert caught.value.field == "table"


def test_an_invalid_spooled_event_is_set_aside_alone(
    postgres_url: str, postgres_events_url: str, tmp_path: Path
) -> None:
    from convsdk import Tracker
    from convsdk._json import dumps, loads
    from convsdk.event import Event

    spool = tmp_path / "spool"
    spool.mkdir()
    good = [
        Event("purchase", kind="macro", goal="purchase", value=float(i), currency="EUR")
        for i in range(99)
    ]
    bad = Event("purchase", kind="macro", goal="purchase", currency="EUR").to_dict()
    bad["value"] = "12,50"  # readable JSON, not an event: PostgreSQL refuses it
    lines = [dumps(e.to_dict()) + b"\n" for e in good]
    lines.insert(42, dumps(bad) + b"\n")
    (spool / f"{1:020d}-99999999-0badf00d.seg.jsonl").write_bytes(b"".join(lines))

    t = Tracker(backend=postgres_events_url, spool_dir=spool, batch_size=100)
    t.flush(timeout=20)  # every claimable segment is replayed before it returns
    t.close()
    assert _count(postgres_url, _table(postgres_events_url)) == 99
    [letter] = [
        loads(raw)
        for path in (spool / "dead-letter").glob("*.jsonl")
        for raw in path.read_bytes().splitlines()
    ]
    assert letter["event"] == bad
    assert t.stats()["dead_lettered"] == 1


def test_a_batch_postgres_refuses_loses_only_the_refused_event(
    postgres_url: str, postgres_events_url: str, tmp_path: Path
) -> None:
    from convsdk.dispatch import Dispatcher
    from convsdk.spool import Spool

    # An event that validates but that the table refuses (here a CHECK constraint): any
    # per-event refusal the spool cannot foresee.
    migrate(postgres_events_url)
    table = _table(postgres_events_url)
    with psycopg.connect(postgres_url) as conn:
        conn.execute(f"ALTER TABLE \"{table}\" ADD CONSTRAINT no_poison CHECK (name <> 'poison')")
    backend = from_url(postgres_events_url)
    d = Dispatcher(backend, batch_size=100, flush_interval=3600, spool=Spool(tmp_path / "spool"))
    for i in range(100):
        d.put(make_event("poison" if i == 57 else "page_view"))
    d.flush(timeout=20)
    d.close()
    assert _count(postgres_url, table) == 99
    assert (d.stats()["dead_lettered"], d.stats()["delivered"]) == (1, 99)


def test_check_says_a_database_is_missing_before_any_write(postgres_url: str) -> None:
    parts = urlsplit(postgres_url)
    backend = from_url(parts._replace(path="/convsdk_no_such_database").geturl())
    try:
        with pytest.raises(BackendError, match="convsdk_no_such_database"):
            backend.check()  # type: ignore[attr-defined]
    finally:
        backend.close()


def test_check_creates_the_table(postgres_events_url: str) -> None:
    backend = from_url(postgres_events_url)
    try:
        backend.check()  # type: ignore[attr-defined]
    finally:
        backend.close()
    assert list(read_events(postgres_events_url)) == []
