"""The helpers for adapter authors: URLs and options, rows, JSON, the lazy connection."""

from __future__ import annotations

import os
import sqlite3
import sys
import threading
import warnings
from contextlib import closing
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from convsdk import BackendError, ConfigError
from convsdk.adapters import (
    COLUMNS,
    Event,
    LazyConnection,
    ParsedURL,
    convert_option,
    json_dumps,
    json_loads,
    parse_url,
    redact_url,
)
from convsdk.event import FIELDS
from convsdk.options import integer, seconds

# -- parse_url ---------------------------------------------------------------------------

TYPES: dict[str, Any] = {"table": str, "timeout": float, "batch": int, "tls": bool}


def test_parse_url_reads_every_part() -> None:
    url = parse_url(
        "kafka://app:p%40ss@Broker.example:9092/shop/orders%20v2?batch=50&tls=yes",
        TYPES,
        defaults={"timeout": 5.0, "table": "events"},
    )
    assert url == ParsedURL(
        scheme="kafka",
        host="broker.example",
        port=9092,
        user="app",
        password="p@ss",
        path=("shop", "orders v2"),
        options={"batch": 50, "tls": True, "timeout": 5.0, "table": "events"},
        source="kafka://app:***@Broker.example:9092/shop/orders%20v2?batch=50&tls=yes",
    )
    assert "p@ss" not in repr(url)


def test_keywords_override_the_query_and_are_checked_too() -> None:
    url = parse_url("x://h/?batch=5&timeout=1", TYPES, overrides={"batch": 7, "tls": False})
    assert url.options == {"batch": 7, "timeout": 1.0, "tls": False}
    with pytest.raises(ConfigError) as info:
        parse_url("x://h/", TYPES, overrides={"batch": "many"})
    assert info.value.field == "batch"


def test_an_unknown_option_is_named_with_a_suggestion() -> None:
    with pytest.raises(ConfigError) as info:
        parse_url("x://user:secret@h/db?tabel=t", TYPES)
    assert info.value.field == "tabel"
    message = str(info.value)
    assert "did you mean table?" in message
    assert "secret" not in message
    with pytest.raises(ConfigError, match="did you mean timeout"):
        parse_url("x://h/", TYPES, overrides={"timeuot": 1})


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("timeout=soon", "timeout"),
        ("timeout=nan", "timeout"),
        ("batch=1.5", "batch"),
        ("tls=maybe", "tls"),
    ],
)
def test_a_bad_value_is_a_config_error_naming_the_option(query: str, field: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_url(f"x://h/?{query}", TYPES)
    assert info.value.field == field


def test_option_types_from_the_options_package_and_plain_callables() -> None:
    types: dict[str, Any] = {
        "wait": seconds(),
        "size": integer(1),
        "mode": lambda text: {"fast": 1, "safe": 2}[text],
    }
    url = parse_url("x://h/?wait=500ms&size=3&mode=safe", types)
    assert url.options == {"wait": 0.5, "size": 3, "mode": 2}
    with pytest.raises(ConfigError) as info:
        parse_url("x://h/?size=0", types)
    assert info.value.field == "size"
    with pytest.raises(ConfigError) as info:
        parse_url("x://h/?mode=slow", {"mode": lambda text: int(text)})
    assert (info.value.field, "'slow'" in str(info.value)) == ("mode", True)
    assert convert_option("n", int, "12") == 12


def test_passthrough_keeps_the_driver_parameters() -> None:
    url = parse_url("pg://h/db?table=t&sslmode=require", {"table": str}, passthrough=True)
    assert url.options == {"table": "t"}
    assert url.extra == (("sslmode", "require"),)


@pytest.mark.parametrize(
    ("url", "field"),
    [
        ("no-scheme", "backend"),
        ("x://h:port/", "port"),
        ("other://h/", "backend"),
        ("x://user:pa#ss@h/", "backend"),
    ],
)
def test_bad_urls(url: str, field: str | None) -> None:
    with pytest.raises(ConfigError) as info:
        parse_url(url, schemes={"x"})
    assert info.value.field == field


def test_redact_url_is_the_one_the_backends_use() -> None:
    assert redact_url("x://u:secret@h/?token=t") == "x://u:***@h/?token=***"


# -- rows and JSON -----------------------------------------------------------------------


def _event() -> Event:
    return Event(
        "checkout",
        kind="macro",
        goal="purchase",
        value=49.0,
        currency="EUR",
        transaction_id="T1",
        timestamp=datetime(2026, 11, 2, 11, 30, tzinfo=timezone(timedelta(hours=1))),
        visitor_id="v",
        session_id="s",
        user_id="u",
        properties={"items": 2, "city": "Zürich"},
        context={"path": "/checkout"},
        event_id="00000000-0000-7000-8000-000000000001",
    )


def test_columns_are_the_fields_and_need_no_database_driver() -> None:
    assert COLUMNS == FIELDS
    from convsdk.backends.postgres import COLUMNS as POSTGRES_COLUMNS

    assert POSTGRES_COLUMNS is COLUMNS


def test_importing_the_helpers_loads_no_driver() -> None:
    import subprocess

    code = (
        "import sys, convsdk.adapters\n"
        "assert not {'psycopg', 'redis', 'nats', 'httpx'} & set(sys.modules)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_to_row_follows_columns_in_utc() -> None:
    event = _event()
    row = event.to_row()
    assert len(row) == len(COLUMNS)
    values = dict(zip(COLUMNS, row, strict=True))
    assert values["timestamp"] == datetime(2026, 11, 2, 10, 30, tzinfo=UTC)
    assert values["timestamp"].tzinfo is UTC
    assert values["properties"] == {"items": 2, "city": "Zürich"}
    text_row = event.to_row(json_text=True)
    assert json_loads(text_row[COLUMNS.index("properties")]) == {"items": 2, "city": "Zürich"}
    assert text_row[COLUMNS.index("context")] == '{"path":"/checkout"}'


def test_a_row_with_text_timestamps_is_stored_by_sqlite_without_an_adapter(
    tmp_path: Path,
) -> None:
    """``timestamp_text=True``: UTC text to the microsecond, which sorts as the times do
    and needs none of the datetime adapters the sqlite3 module deprecated in 3.12."""
    later = Event("late", timestamp=datetime(2026, 11, 2, 11, 30, 0, 1, tzinfo=UTC))
    east = Event(
        "early", timestamp=datetime(2026, 11, 2, 12, 0, tzinfo=timezone(timedelta(hours=3)))
    )
    rows = [event.to_row(json_text=True, timestamp_text=True) for event in (later, east)]
    assert rows[0][COLUMNS.index("timestamp")] == "2026-11-02T11:30:00.000001+00:00"
    assert rows[1][COLUMNS.index("timestamp")] == "2026-11-02T09:00:00.000000+00:00"
    with closing(sqlite3.connect(tmp_path / "rows.db", detect_types=0)) as conn:
        conn.execute(f"CREATE TABLE events ({', '.join(COLUMNS)})")
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no adapter is asked for, deprecated or not
            conn.executemany(f"INSERT INTO events VALUES ({', '.join('?' * len(COLUMNS))})", rows)
        stored = conn.execute("SELECT * FROM events ORDER BY timestamp").fetchall()
    assert [Event.from_row(row).name for row in stored] == ["early", "late"]
    assert Event.from_row(stored[1]) == later


def test_from_row_round_trips_with_dicts_or_text() -> None:
    event = _event()
    assert Event.from_row(event.to_row()) == event
    assert Event.from_row(event.to_row(json_text=True)) == event
    as_bytes = list(event.to_row())
    as_bytes[-2] = json_dumps(event.properties)
    assert Event.from_row(as_bytes) == event


def test_from_row_takes_naive_and_text_timestamps_as_utc() -> None:
    row = list(_event().to_row())
    row[7] = datetime(2026, 11, 2, 10, 30)
    assert Event.from_row(row).timestamp == datetime(2026, 11, 2, 10, 30, tzinfo=UTC)
    row[7] = "2026-11-02T11:30:00+01:00"
    ts = Event.from_row(row).timestamp
    assert (ts, ts.utcoffset()) == (datetime(2026, 11, 2, 10, 30, tzinfo=UTC), timedelta(0))
    row[7] = datetime(2026, 11, 2, 11, 30, tzinfo=timezone(timedelta(hours=1)))
    assert Event.from_row(row).timestamp.tzinfo is UTC
    row[-1] = None
    assert Event.from_row(row).context == {}


@pytest.mark.parametrize(
    ("index", "value"), [(7, 1_700_000_000), (11, "[1, 2]"), (12, ["not", "a", "dict"])]
)
def test_from_row_refuses_what_it_cannot_read(index: int, value: Any) -> None:
    row = list(_event().to_row())
    row[index] = value
    with pytest.raises(ValueError):
        Event.from_row(row)
    with pytest.raises(ValueError, match="13 values"):
        Event.from_row(row[:5])


def test_to_json_is_the_serialised_form() -> None:
    event = _event()
    data = event.to_json()
    assert isinstance(data, bytes)
    assert json_loads(data) == event.to_dict()
    assert data.startswith(b'{"event_id":"00000000-0000-7000-8000-000000000001"')
    assert "Zürich".encode() in data  # UTF-8, not \\u escapes
    assert Event.from_json(data) == event
    assert Event.from_json(data.decode()) == event


# -- LazyConnection ----------------------------------------------------------------------


class Conn:
    """A stand-in connection that records whether it was closed."""

    made = 0

    def __init__(self) -> None:
        Conn.made += 1
        self.pid = os.getpid()
        self.closed = False


def _close(conn: Conn) -> None:
    conn.closed = True


def test_connects_on_first_get_only() -> None:
    made: list[Conn] = []
    holder = LazyConnection(lambda: made.append(Conn()) or made[-1], _close)
    assert not holder.connected and made == []
    first = holder.get()
    assert holder.get() is first and len(made) == 1
    assert holder.connected


def test_threads_share_one_connection() -> None:
    made: list[Conn] = []
    gate = threading.Barrier(8)

    def connect() -> Conn:
        made.append(Conn())
        return made[-1]

    holder = LazyConnection(connect, _close)
    got: list[Conn] = []

    def work() -> None:
        gate.wait()
        got.append(holder.get())

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(made) == 1 and all(conn is made[0] for conn in got)


def test_reset_reconnects_and_a_failed_connect_is_tried_again() -> None:
    attempts: list[int] = []

    def connect() -> Conn:
        attempts.append(1)
        if len(attempts) == 1:
            raise OSError("refused")
        return Conn()

    holder = LazyConnection(connect, _close)
    with pytest.raises(OSError):
        holder.get()
    first = holder.get()
    holder.reset()
    assert first.closed
    assert holder.get() is not first


def test_close_is_idempotent_and_a_get_after_it_fails_for_good() -> None:
    holder = LazyConnection(Conn, _close, name="kafka")
    conn = holder.get()
    holder.close()
    holder.close()
    assert conn.closed and holder.closed and not holder.connected
    with pytest.raises(BackendError) as info:
        holder.get()
    assert info.value.retryable is False
    assert info.value.backend == "kafka"


def test_close_without_a_connection_or_closer_does_nothing() -> None:
    LazyConnection(Conn).close()
    holder = LazyConnection(Conn)
    holder.get()
    holder.close()


def test_an_error_while_closing_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    def fail(conn: Conn) -> None:
        raise OSError("gone")

    holder = LazyConnection(Conn, fail)
    holder.get()
    holder.close()
    assert "closing" in caplog.text


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_connects_anew_and_leaves_the_parents_open() -> None:
    holder = LazyConnection(Conn, _close)
    parent = holder.get()
    read, write = os.pipe()
    with warnings.catch_warnings():
        # Python 3.12+ warns about fork() in a process with threads: that is the point here.
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:  # the child
        code = 1
        try:
            child = holder.get()
            ok = child is not parent and child.pid == os.getpid() and not parent.closed
            holder.close()
            code = 0 if ok and not parent.closed and child.closed else 1
        finally:
            os.write(write, bytes([code]))
            os._exit(0)
    os.close(write)
    answer = os.read(read, 1)
    os.close(read)
    os.waitpid(pid, 0)
    assert answer == b"\x00"
    assert holder.get() is parent and not parent.closed
    holder.close()
    assert parent.closed


# -- the built-in backends parse their URLs the same way --------------------------------


@pytest.mark.parametrize(
    ("url", "typo", "meant"),
    [
        ("file:///tmp/events.jsonl?backup=3", "backup", "backups"),
        ("sqlite:///convsdk.db?timout=3", "timout", "timeout"),
        ("nats://127.0.0.1:4222/events?strem=X", "strem", "stream"),
        ("postgresql://u:secret@db/shop?tabel=t", "tabel", "table"),
        ("redis://:secret@127.0.0.1:6379/0/events?maxln=5", "maxln", "maxlen"),
    ],
)
def test_every_backend_names_a_misspelt_option(url: str, typo: str, meant: str) -> None:
    from convsdk.backends import from_url

    with pytest.raises(ConfigError) as info:
        from_url(url)
    assert info.value.field == typo
    assert f"did you mean {meant}?" in str(info.value)
    assert "secret" not in str(info.value)


def test_the_public_names_are_listed() -> None:
    import convsdk.adapters as adapters

    assert adapters.__all__ == sorted(adapters.__all__, key=lambda n: (not n.isupper(), n))
    for name in adapters.__all__:
        assert getattr(adapters, name).__doc__, name


def test_a_backend_error_names_its_backend_once() -> None:
    from convsdk import BackendError

    assert str(BackendError("cannot connect", backend="mariadb")) == "mariadb: cannot connect"
    message = "mariadb://app:***@db/shop: cannot connect"
    assert str(BackendError(message, backend="mariadb")) == message
