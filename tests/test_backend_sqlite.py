"""The ``sqlite://`` backend: schema, layouts, round trip, dedupe, ordering, errors, URLs."""

from __future__ import annotations

import json
import logging
import re
import sqlite3
import threading
from contextlib import closing
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from convsdk import BackendError, ConfigError
from convsdk.backends import from_url
from convsdk.backends.sqlite import (
    PAGE_SIZE,
    SCHEMA_VERSION,
    SQLiteBackend,
    connect,
    read_events,
)
from convsdk.event import Event, make_event
from convsdk.report.dataset import Dataset
from convsdk.report.sql import SQLiteReader

T0 = datetime(2025, 6, 1, 12, 0, 0, 0, tzinfo=UTC)

SRC = Path(__file__).resolve().parents[1] / "src" / "convsdk"


def full_event(**overrides: object) -> Event:
    """An event with every field set, non-ASCII text and nested properties."""
    fields: dict[str, object] = {
        "kind": "macro",
        "goal": "purchase",
        "value": 129.95,
        "currency": "eur",
        "transaction_id": "order-42",
        "visitor_id": "visitor-1",
        "session_id": "session-1",
        "user_id": "user-7",
        "properties": {
            "items": 3,
            "city": "Zürich",
            "note": '日本語 ✓ "quoted"\nnew line',
            "coupon": None,
            "tags": ["a", "b"],
            "cart": {"sku": "X-1", "qty": 2, "price": 43.32},
        },
        "context": {
            "method": "POST",
            "path": "/checkout",
            "url": "https://shop.example/checkout?utm_source=news",
            "referrer": "https://shop.example/cart",
            "user_agent": "Mozilla/5.0",
            "ip": "203.0.113.0",
            "status": 303,
            "utm": {"source": "newsletter", "medium": "email", "campaign": "été"},
        },
        "timestamp": T0 + timedelta(microseconds=123456),
    }
    fields.update(overrides)
    return make_event("checkout", **fields)  # type: ignore[arg-type]


def page_views(count: int, start: int = 0) -> list[Event]:
    return [
        make_event("page_view", visitor_id=f"v{i}", timestamp=T0 + timedelta(seconds=i))
        for i in range(start, start + count)
    ]


def count_rows(path: Path) -> int:
    with closing(sqlite3.connect(path)) as conn:
        return int(conn.execute("SELECT count(*) FROM convsdk_events").fetchone()[0])


def test_round_trip_keeps_every_field(tmp_path: Path) -> None:
    path = tmp_path / "convsdk.db"
    backend = SQLiteBackend(path)
    written = [
        full_event(),
        make_event("page_view", timestamp=T0 + timedelta(seconds=1)),
        full_event(value=0.0, user_id=None, timestamp=T0 + timedelta(seconds=2)),
    ]
    backend.write(written)
    backend.close()

    read = list(read_events(path))

    assert [e.to_dict() for e in read] == [e.to_dict() for e in written]
    assert read[0].timestamp == T0 + timedelta(microseconds=123456)
    assert read[1].kind is None and read[1].properties == {} and read[1].value is None


def test_columns_hold_what_the_report_reads(tmp_path: Path) -> None:
    path = tmp_path / "convsdk.db"
    backend = SQLiteBackend(path)
    event = full_event()
    backend.write([event])
    backend.close()

    with closing(sqlite3.connect(path)) as conn:
        conn.row_factory = sqlite3.Row
        row = dict(conn.execute("SELECT * FROM convsdk_events").fetchone())
    assert row == {
        "event_id": event.event_id,
        "name": "checkout",
        "kind": "macro",
        "goal": "purchase",
        "value": 129.95,
        "currency": "EUR",
        "transaction_id": "order-42",
        "timestamp": "2025-06-01T12:00:00.123456+00:00",
        "visitor_id": "visitor-1",
        "session_id": "session-1",
        "user_id": "user-7",
        "properties": row["properties"],
        "context": row["context"],
    }
    assert json.loads(row["properties"]) == event.properties
    assert json.loads(row["context"]) == event.context
    assert isinstance(row["properties"], str)  # TEXT, not a BLOB of bytes


def test_schema_is_created_on_first_write(tmp_path: Path) -> None:
    path = tmp_path / "data" / "convsdk.db"
    backend = SQLiteBackend(path)
    assert not path.exists()  # nothing opened at construction
    backend.write(page_views(1))

    with closing(sqlite3.connect(path)) as conn:
        names = {
            row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type != 'trigger'")
        }
        info = list(conn.execute("PRAGMA table_info(convsdk_events)"))
        columns = [row[1] for row in info]
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 2
        assert conn.execute("PRAGMA page_size").fetchone()[0] == PAGE_SIZE == 16384
        # An ordinary rowid table whose primary key is event_id (a unique index).
        assert conn.execute("SELECT rowid, event_id FROM convsdk_events").fetchone()[0] == 1
        assert [(row[1], row[3], row[5]) for row in info if row[5]] == [("event_id", 1, 1)]
    backend.close()
    assert {
        "convsdk_events",
        "convsdk_events_timestamp",
    } <= names
    assert columns == [
        "event_id",
        "name",
        "kind",
        "goal",
        "value",
        "currency",
        "transaction_id",
        "timestamp",
        "visitor_id",
        "session_id",
        "user_id",
        "properties",
        "context",
    ]


def test_connect_applies_pragmas_and_schema(tmp_path: Path) -> None:
    conn = connect(tmp_path / "tool.db")
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
        assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == 5000
        assert conn.execute("SELECT count(*) FROM convsdk_events").fetchone()[0] == 0
    finally:
        conn.close()


def test_resent_batch_is_stored_once(tmp_path: Path) -> None:
    path = tmp_path / "convsdk.db"
    backend = SQLiteBackend(path)
    batch = page_views(5)
    backend.write(batch)
    backend.write(batch)  # at-least-once: a retry after an unseen success
    extra = page_views(1, start=5)
    backend.write([*batch[:2], *extra])  # partly new
    backend.close()

    assert count_rows(path) == 6
    assert [e.event_id for e in read_events(path)] == [e.event_id for e in [*batch, *extra]]


def test_big_batches_with_repeats_inside_and_across_are_stored_once(tmp_path: Path) -> None:
    path = tmp_path / "convsdk.db"
    backend = SQLiteBackend(path)
    events = page_views(130)
    # Several statements' worth of rows, a repeat inside a batch, a batch sent again,
    # and batches overlapping.
    backend.write([*events[:60], events[7], events[59]])
    backend.write(events[:60])
    backend.write(events[40:101])
    backend.write(events[90:])
    backend.close()

    assert count_rows(path) == 130
    assert [e.event_id for e in read_events(path)] == [e.event_id for e in events]


def test_empty_fields_are_sql_nulls(tmp_path: Path) -> None:
    path = tmp_path / "convsdk.db"
    backend = SQLiteBackend(path)
    backend.write([make_event("page_view"), *page_views(30)])
    backend.close()

    nullable = ["kind", "goal", "value", "currency", "transaction_id", "visitor_id"]
    nullable += ["session_id", "user_id"]
    with closing(sqlite3.connect(path)) as conn:
        nulls = conn.execute(
            f"SELECT {', '.join(f'sum({c} IS NULL)' for c in nullable)} FROM convsdk_events"
        ).fetchone()
    assert dict(zip(nullable, nulls, strict=True)) == {
        "kind": 31,
        "goal": 31,
        "value": 31,
        "currency": 31,
        "transaction_id": 31,
        "visitor_id": 1,
        "session_id": 31,
        "user_id": 31,
    }
    anonymous = next(e for e in read_events(path) if e.visitor_id is None)
    assert anonymous.to_dict() | {"event_id": None, "timestamp": None} == {
        "event_id": None,
        "name": "page_view",
        "kind": None,
        "goal": None,
        "value": None,
        "currency": None,
        "transaction_id": None,
        "timestamp": None,
        "visitor_id": None,
        "session_id": None,
        "user_id": None,
        "properties": {},
        "context": {},
    }


def test_values_are_stored_as_real_numbers(tmp_path: Path) -> None:
    path = tmp_path / "convsdk.db"
    backend = SQLiteBackend(path)
    events = [
        Event("checkout", value=v, currency="USD", timestamp=T0 + timedelta(seconds=i))
        for i, v in enumerate([12, Decimal("19.90"), 0.5, 0])
    ]
    backend.write(events)
    backend.close()

    with closing(sqlite3.connect(path)) as conn:
        rows = conn.execute(
            "SELECT value, typeof(value) FROM convsdk_events ORDER BY timestamp"
        ).fetchall()
    assert rows == [(12.0, "real"), (19.9, "real"), (0.5, "real"), (0.0, "real")]


def test_timestamps_are_stored_as_the_serialised_form_has_them(tmp_path: Path) -> None:
    path = tmp_path / "convsdk.db"
    backend = SQLiteBackend(path)
    events = [
        make_event("page_view"),  # as the tracker makes them: the clock, nothing formatted
        make_event("page_view", timestamp=T0),
        make_event("page_view", timestamp=datetime(2025, 6, 1, 14, 30, 5, 42)),  # naive: UTC
        make_event(
            "page_view",
            timestamp=datetime(2025, 6, 1, 14, 0, 0, 999999, tzinfo=timezone(timedelta(hours=2))),
        ),
    ]
    backend.write(events)
    backend.close()

    with closing(sqlite3.connect(path)) as conn:
        stored = dict(conn.execute("SELECT event_id, timestamp FROM convsdk_events"))
    assert stored == {e.event_id: e.to_dict()["timestamp"] for e in events}
    assert stored[events[3].event_id] == "2025-06-01T12:00:00.999999+00:00"
    assert {e.event_id: e.timestamp for e in read_events(path)} == {
        e.event_id: e.timestamp for e in events
    }


def test_read_events_orders_by_timestamp_and_filters(tmp_path: Path) -> None:
    path = tmp_path / "convsdk.db"
    backend = SQLiteBackend(path)
    events = page_views(6)
    backend.write(events[3:])  # written out of order
    backend.write(events[:3])
    backend.close()

    assert [e.event_id for e in read_events(path)] == [e.event_id for e in events]
    window = read_events(
        f"sqlite:///{path}", since=T0 + timedelta(seconds=1), until=T0 + timedelta(seconds=4)
    )
    assert [e.visitor_id for e in window] == ["v1", "v2", "v3"]
    assert [e.visitor_id for e in read_events(path, since="2025-06-01T12:00:05Z")] == ["v5"]
    naive = datetime(2025, 6, 1, 12, 0, 1)  # naive means UTC
    assert [e.visitor_id for e in read_events(path, until=naive)] == ["v0"]


def test_read_events_of_a_missing_database_raises(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        read_events(tmp_path / "nothing.db")
    assert not (tmp_path / "nothing.db").exists()


def test_read_events_rejects_a_bad_bound(tmp_path: Path) -> None:
    backend = SQLiteBackend(tmp_path / "convsdk.db")
    backend.write(page_views(1))
    backend.close()
    with pytest.raises(ValueError, match="since"):
        read_events(tmp_path / "convsdk.db", since="last tuesday")


def test_reader_sees_committed_batches_while_the_writer_is_open(tmp_path: Path) -> None:
    path = tmp_path / "convsdk.db"
    backend = SQLiteBackend(path)
    backend.write(page_views(3))
    assert len(list(read_events(path))) == 3  # WAL: readers do not wait for close
    backend.write(page_views(2, start=3))
    assert len(list(backend.read())) == 5
    backend.close()


def test_locked_database_raises_a_retryable_error_then_recovers(tmp_path: Path) -> None:
    path = tmp_path / "convsdk.db"
    backend = SQLiteBackend(path, timeout=0.05)
    backend.write(page_views(1))
    other = sqlite3.connect(path, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
        with pytest.raises(BackendError) as info:
            backend.write(page_views(1, start=1))
        assert info.value.backend == "sqlite" and info.value.retryable
        assert "locked" in str(info.value)
        other.execute("ROLLBACK")
    finally:
        other.close()

    backend.write(page_views(1, start=1))  # the dispatcher's retry
    backend.close()
    assert count_rows(path) == 2


def test_unopenable_database_raises_a_retryable_error(tmp_path: Path) -> None:
    path = tmp_path / "convsdk.db"
    path.mkdir()  # a directory where the database should be
    backend = SQLiteBackend(path)
    with pytest.raises(BackendError) as info:
        backend.write(page_views(1))
    assert info.value.backend == "sqlite" and info.value.retryable


def test_an_unstorable_event_is_logged_and_the_rest_stored(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "convsdk.db"
    backend = SQLiteBackend(path)
    bad = Event("broken", properties={"when": object()})
    good = page_views(2)
    with caplog.at_level(logging.ERROR, logger="convsdk.backends.sqlite"):
        backend.write([good[0], bad, good[1]])
    backend.close()

    assert [e.event_id for e in read_events(path)] == [e.event_id for e in good]
    assert bad.event_id in caplog.text


def test_write_in_another_thread_and_close_from_this_one(tmp_path: Path) -> None:
    path = tmp_path / "convsdk.db"
    backend = SQLiteBackend(path)  # built here, written by a "dispatcher" thread
    events = page_views(50)
    errors: list[BaseException] = []

    def dispatcher() -> None:
        try:
            for i in range(0, 50, 10):
                backend.write(events[i : i + 10])
        except Exception as exc:
            errors.append(exc)

    thread = threading.Thread(target=dispatcher)
    thread.start()
    thread.join(timeout=10)
    assert not thread.is_alive() and errors == []
    backend.close()  # not the thread that opened the connection

    assert not (tmp_path / "convsdk.db-wal").exists()  # closed: the WAL was merged
    assert count_rows(path) == 50


def test_a_write_after_close_is_refused_for_good(tmp_path: Path) -> None:
    backend = SQLiteBackend(tmp_path / "convsdk.db")
    backend.write(page_views(1))
    backend.close()
    backend.close()  # twice is harmless
    with pytest.raises(BackendError, match="after close") as caught:
        backend.write(page_views(1, start=1))
    assert caught.value.retryable is False
    assert count_rows(tmp_path / "convsdk.db") == 1


def test_memory_database_round_trip() -> None:
    backend = SQLiteBackend.from_url("sqlite://:memory:")
    assert list(backend.read()) == []
    events = [full_event(), *page_views(2)]
    backend.write(events)
    backend.write(events)
    assert [e.to_dict() for e in backend.read()] == [
        e.to_dict() for e in sorted(events, key=lambda e: e.timestamp)
    ]
    backend.close()


# -- the first layout (user_version 1) ---------------------------------------------

FIRST_LAYOUT = """
CREATE TABLE convsdk_events (
  event_id TEXT PRIMARY KEY, name TEXT NOT NULL, kind TEXT, goal TEXT, value REAL,
  currency TEXT, transaction_id TEXT, timestamp TEXT NOT NULL, visitor_id TEXT,
  session_id TEXT, user_id TEXT, properties TEXT NOT NULL, context TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX convsdk_events_timestamp ON convsdk_events (timestamp);
PRAGMA user_version = 1;
"""


def first_layout_database(path: Path, events: list[Event]) -> None:
    """A database as the first layout's code made it, holding ``events``."""
    with closing(sqlite3.connect(path, isolation_level=None)) as conn:
        conn.execute("PRAGMA page_size=4096")
        conn.execute("PRAGMA journal_mode=WAL")
        conn.executescript(FIRST_LAYOUT)
        rows = []
        for event in events:
            row = event.to_dict()
            row["properties"] = json.dumps(row["properties"])
            row["context"] = json.dumps(row["context"])
            rows.append(row)
        conn.executemany(
            f"INSERT INTO convsdk_events VALUES ({', '.join(':' + c for c in rows[0])})", rows
        )


def layout(path: Path) -> tuple[int, int, bool]:
    """(user_version, page_size, WITHOUT ROWID?) of a database."""
    with closing(sqlite3.connect(path)) as conn:
        (sql,) = conn.execute(
            "SELECT sql FROM sqlite_master WHERE name = 'convsdk_events'"
        ).fetchone()
        return (
            conn.execute("PRAGMA user_version").fetchone()[0],
            conn.execute("PRAGMA page_size").fetchone()[0],
            "WITHOUT ROWID" in sql.upper(),
        )


def test_a_first_layout_database_is_written_and_read_as_it_is(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    old = [full_event(), *page_views(3)]
    first_layout_database(path, old)
    new = page_views(40, start=3)

    backend = SQLiteBackend(path)
    backend.write([*old[1:3], *new])  # events it already holds are not stored again
    backend.write(new)
    assert [e.to_dict() for e in backend.read()] == [
        e.to_dict() for e in sorted([*old, *new], key=lambda e: e.timestamp)
    ]
    backend.close()

    assert count_rows(path) == 44
    assert layout(path) == (1, 4096, True)  # neither migrated nor rebuilt
    # The report reads it as it reads the new layout.
    again = tmp_path / "new.db"
    fresh = SQLiteBackend(again)
    fresh.write([*old, *new])
    fresh.close()
    assert layout(again) == (SCHEMA_VERSION, PAGE_SIZE, False)
    assert _dataset(path) == _dataset(again)


def _dataset(path: Path) -> Dataset:
    """What the report reads from ``path``, its people (a stream) read into a list."""
    dataset = SQLiteReader(path).read()
    dataset.visitors = list(dataset.visitors)
    return dataset


def test_the_documented_copy_moves_a_first_layout_database(tmp_path: Path) -> None:
    events = [full_event(), *page_views(30)]
    first_layout_database(tmp_path / "old.db", events)

    conn = connect(tmp_path / "new.db")
    try:
        conn.execute("ATTACH ? AS old", (str(tmp_path / "old.db"),))
        conn.execute("INSERT OR IGNORE INTO convsdk_events SELECT * FROM old.convsdk_events")
        conn.execute("DETACH old")
    finally:
        conn.close()

    assert layout(tmp_path / "new.db") == (SCHEMA_VERSION, PAGE_SIZE, False)
    assert [e.to_dict() for e in read_events(tmp_path / "new.db")] == [
        e.to_dict() for e in read_events(tmp_path / "old.db")
    ]


# -- URLs and options -------------------------------------------------------------


def test_from_url_relative_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    backend = from_url("sqlite:///convsdk.db")
    assert isinstance(backend, SQLiteBackend)
    monkeypatch.chdir(tmp_path.parent)  # a later chdir does not move the database
    backend.write(page_views(1))
    backend.close()
    assert backend.path == str(tmp_path / "convsdk.db")
    assert count_rows(tmp_path / "convsdk.db") == 1


def test_from_url_absolute_path_and_timeout(tmp_path: Path) -> None:
    backend = SQLiteBackend.from_url(f"sqlite:///{tmp_path}/my%20data/events.db?timeout=2.5")
    assert backend.path == str(tmp_path / "my data" / "events.db")
    assert backend.timeout == 2.5
    assert SQLiteBackend.from_url("sqlite:////var/lib/shop/convsdk.db").path == (
        "/var/lib/shop/convsdk.db"
    )


@pytest.mark.parametrize("url", ["sqlite://:memory:", "sqlite:///:memory:"])
def test_from_url_memory(url: str) -> None:
    assert SQLiteBackend.from_url(url).path == ":memory:"


def test_keyword_options_override_the_query_string() -> None:
    assert SQLiteBackend.from_url("sqlite://:memory:?timeout=9", timeout=1).timeout == 1.0


@pytest.mark.parametrize(
    ("url", "field"),
    [
        ("sqlite:///convsdk.db?timeout=soon", "timeout"),
        ("sqlite:///convsdk.db?timeout=-1", "timeout"),
        ("sqlite:///convsdk.db?journal=off", "journal"),
        ("sqlite://", "path"),
        ("sqlite://dbhost/convsdk.db", "path"),
    ],
)
def test_bad_url_raises_config_error_naming_the_field(url: str, field: str) -> None:
    with pytest.raises(ConfigError) as info:
        from_url(url)
    assert info.value.field == field
    assert field in str(info.value)


def test_migrate_and_first_use_index_the_events_without_a_visitor(tmp_path: Path) -> None:
    from convsdk.cli import main
    from convsdk.report.sql.sqlite_queries import sqlite_queries

    for path in (tmp_path / "migrated.db", tmp_path / "used.db"):
        if path.name == "migrated.db":
            assert main(["migrate", f"sqlite:///{path}"]) == 0
        else:
            backend = SQLiteBackend(path)
            backend.write([make_event("page_view")])
            backend.close()
        with closing(sqlite3.connect(path)) as conn:
            query = sqlite_queries("convsdk_events", "1", "1", 0)["anonymous"]
            plan = " ".join(str(row) for row in conn.execute(f"EXPLAIN QUERY PLAN {query}"))
        # The report counts them without reading the whole table.
        assert "convsdk_events_anonymous" in plan, path


def test_sqlite_statements_mark_their_parameters_plainly() -> None:
    """Every statement convsdk gives SQLite takes its values by plain ``?`` marks: a
    numbered one (``?1``) given a sequence warns on Python 3.12.0 to 3.12.3, which a
    site's suite running with ``-W error`` turns into a failing report or rollup."""
    numbered = re.compile(r"\?\d")
    found = [
        f"{path.relative_to(SRC)}:{n}"
        for path in sorted(SRC.rglob("*.py"))
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if numbered.search(line)
    ]
    assert not found, found
