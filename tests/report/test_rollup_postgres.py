"""Rollups of a PostgreSQL store: what is particular to it.

Its watermark is a transaction snapshot, so rows of a transaction still open while a
rollup runs are taken by a later one; its rollups are named after the events table; a
table of an earlier convsdk gets its ``xid`` column from the first rollup; a table
emptied, made again or copied back under the rollups is noticed.
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from convsdk import ConfigError
from convsdk.cli import main
from convsdk.event import Event
from convsdk.report import load_report
from convsdk.report.rollup import roll_up

from .conftest import GOALS, POSTGRES_URL, drop_postgres_table, make, require_postgres, scenario

psycopg = pytest.importorskip("psycopg")

from convsdk.backends.postgres import PostgresBackend  # noqa: E402

DAY = 86_400


def _figures(url: str, **kwargs: Any) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(load_report(url, GOALS, **kwargs).to_json())
    del data["meta"]
    return data


def _same(url: str, caplog: pytest.LogCaptureFixture) -> dict[str, Any]:
    """The report through the rollups, checked against the events' and to read them."""
    expected = _figures(url, rollups=False)
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="convsdk.report"):
        found = _figures(url)
    assert "read from rollups" in caplog.text, caplog.text
    assert found == expected
    return found


def _not_used(url: str, caplog: pytest.LogCaptureFixture, why: str) -> None:
    """The report reads the events, for ``why``, and says so."""
    expected = _figures(url, rollups=False)
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="convsdk.report"):
        assert _figures(url) == expected
    assert f"rollups not used: {why}" in caplog.text, caplog.text


@pytest.fixture
def table() -> Iterator[tuple[str, str, Any]]:
    """``(table, report URL, autocommit connection)`` of a table of this test's own."""
    require_postgres()
    name = f"convsdk_rollup_test_{uuid.uuid4().hex[:12]}"
    conn = psycopg.connect(POSTGRES_URL, autocommit=True)
    try:
        yield name, f"{POSTGRES_URL}{'&' if '?' in POSTGRES_URL else '?'}table={name}", conn
    finally:
        drop_postgres_table(conn, name)
        conn.close()


def _write(url: str, events: list[Event]) -> None:
    backend = PostgresBackend.from_url(url)
    try:
        backend.write(events)
    finally:
        backend.close()


def _insert(conn: Any, table: str, event: Event) -> None:
    """Store ``event`` as an application's own INSERT would (naming its columns)."""
    row = event.to_row(json_text=True)
    conn.execute(
        f'INSERT INTO "{table}" (event_id, name, kind, goal, value, currency, transaction_id, '
        "timestamp, visitor_id, session_id, user_id, properties, context) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
        row,
    )


def test_a_transaction_open_while_a_rollup_runs_is_rolled_up_by_the_next(
    table: tuple[str, str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    name, url, _ = table
    _write(url, scenario())
    roll_up(url)
    with psycopg.connect(POSTGRES_URL) as slow:
        # A transaction takes its id, stores an event and stays open; another one,
        # younger, commits its own: the open one's id is the smaller.
        _insert(slow, name, make("page_view", 2 * DAY, "slow", utm={"source": "late"}))
        _write(url, [make("page_view", 2 * DAY + 5, "quick", utm={"source": "early"})])
        assert roll_up(url).events == 1  # the committed one only
        _same(url, caplog)
        slow.commit()
    data = _same(url, caplog)  # read as an event stored since: not lost
    sources = {row["value"] for row in data["breakdowns"]["first_touch"]["source"]}
    assert {"late", "early"} <= sources
    assert roll_up(url).events == 1  # now rolled up
    _same(url, caplog)
    assert roll_up(url).events == 0


def test_a_table_of_an_earlier_version_is_given_its_column_by_the_first_rollup(
    postgres_table: tuple[str, Callable[[list[Event]], None]], caplog: pytest.LogCaptureFixture
) -> None:
    url, write = postgres_table  # made by hand, as an earlier version did; no xid
    write(scenario())
    expected = _figures(url, rollups=False)
    assert _figures(url) == expected  # no rollups: the events
    assert roll_up(url).events == len(scenario())
    _same(url, caplog)
    # The application's own INSERT, naming no column: the xid is filled all the same.
    write([make("page_view", 3 * DAY, "zoe", utm={"source": "newsletter"})])
    _same(url, caplog)
    assert roll_up(url).events == 1
    _same(url, caplog)


def test_two_rollups_at_once_roll_each_event_up_once(
    table: tuple[str, str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    _, url, _ = table
    events = [
        make("page_view", n * 7, f"v{n % 400}", utm={"source": f"s{n % 3}"}) for n in range(3000)
    ]
    _write(url, events + scenario())
    done: list[int] = []
    runs = [threading.Thread(target=lambda: done.append(roll_up(url).events)) for _ in range(3)]
    for run in runs:
        run.start()
    for run in runs:
        run.join()
    assert sorted(done) == [0, 0, len(events) + len(scenario())]
    _same(url, caplog)


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ('TRUNCATE "{t}"', "the events table was emptied or rewritten since"),
        ('DELETE FROM "{t}"', "events rolled up were deleted or stored again since"),
        (
            'CREATE TABLE "{t}_copy" AS SELECT * FROM "{t}" WITH NO DATA; DROP TABLE "{t}"; '
            'ALTER TABLE "{t}_copy" RENAME TO "{t}"',
            "the events table was made again since",
        ),
    ],
    ids=["truncated", "deleted", "made again"],
)
def test_events_stored_again_under_the_rollups_are_noticed(
    table: tuple[str, str, Any], caplog: pytest.LogCaptureFixture, change: str, why: str
) -> None:
    name, url, conn = table
    events = scenario()
    _write(url, events)
    roll_up(url)
    with conn.transaction():
        for statement in change.format(t=name).split(";"):
            conn.execute(statement)
    # Restored from a backup, less a visitor: every row stored again, by a later
    # transaction than the rollups saw.
    for event in events:
        if event.visitor_id != "alice":
            _insert(conn, name, event)
    _not_used(url, caplog, why)
    done = roll_up(url)
    assert done.rebuilt is not None and why in done.rebuilt
    assert "alice" not in json.dumps(_same(url, caplog))


def test_rollups_are_named_after_the_table_and_need_a_short_name(
    table: tuple[str, str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    name, url, conn = table
    _write(url, scenario())
    roll_up(url)
    found = conn.execute(
        "SELECT tablename FROM pg_tables WHERE tablename LIKE %s ORDER BY 1", [f"{name}_rollup%"]
    ).fetchall()
    assert [row[0].removeprefix(name) for row in found] == [
        "_rollup_counts", "_rollup_days", "_rollup_links", "_rollup_transactions",
        "_rollup_visitor_days", "_rollup_watermark",
    ]  # fmt: skip
    long = "t" * 44
    with pytest.raises(ConfigError) as caught:
        roll_up(f"{POSTGRES_URL}?table={long}")
    assert caught.value.field == "table" and "at most 43 characters" in str(caught.value)


def test_the_rollup_command_takes_a_postgresql_url(
    table: tuple[str, str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    _, url, _ = table
    _write(url, scenario())
    assert main(["rollup", url]) == 0
    out = capsys.readouterr().out
    assert f"rolled up {len(scenario())} events into " in out and "(up to snapshot " in out
    assert main(["rollup", url, "--rebuild"]) == 0
    assert main(["report", url, "--format", "json"]) == 0
