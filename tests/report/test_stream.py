"""The readers that count in a database stream their people (SQLite, PostgreSQL, and
DuckDB for logs): read once, from one snapshot, the connection closed (and DuckDB's
temporary directory removed) however the stream ends, visitor ids linked by a user id
merged into one person as every reader merges them."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import sqlite3
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest

from convsdk.backends.sqlite import SQLiteBackend
from convsdk.event import Event
from convsdk.report import open_reader
from convsdk.report.dataset import Dataset, VisitorStream, VisitorSummary
from convsdk.report.jsonl import FileReader
from convsdk.report.people import merge_people
from convsdk.report.sql import PostgresReader, SQLiteReader
from convsdk.report.stream import ArrivalRow, ConversionRow, PeopleMerge, VisitorRow

from .conftest import GOALS, T0, make, scenario, write_jsonl, write_sqlite

GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
STEPS = sorted({step for funnel in GOALS.funnels for step in funnel.steps})


def _linked_events() -> list[Event]:
    """The scenario, and hank on two devices: his phone lands from a newsletter and
    logs in; his laptop comes from a Bing ad, logs in and buys; a newsletter visit on
    the phone after the purchase gets no credit. A crawler logged in as hank too: left
    out, and so is its link."""
    mail = {"source": "newsletter", "medium": "email", "campaign": "hank"}
    bing = {"source": "bing", "medium": "cpc", "campaign": "hank"}
    crawler = make("identify", 4500, "hank-bot", user_id="u-hank")
    crawler.context["user_agent"] = GOOGLEBOT
    return [
        *scenario(),
        make("page_view", 4000, "hank-phone", utm=mail, variant="B"),
        make("identify", 4010, "hank-phone", user_id="u-hank"),
        crawler,
        make("page_view", 5000, "hank-laptop", utm=bing, referrer="https://bing.com/"),
        make("identify", 5010, "hank-laptop", user_id="u-hank"),
        make(
            "checkout",
            5100,
            "hank-laptop",
            path="/checkout",
            kind="macro",
            goal="purchase",
            value=42.0,
            currency="USD",
        ),
        make("page_view", 7000, "hank-phone", utm=mail, variant="B"),
    ]


def _read(reader: Any, **kwargs: Any) -> Dataset:
    kinds = {goal.name: goal.kind for goal in GOALS.goals}
    dataset: Dataset = reader.read(since=T0, step_goals=STEPS, goal_kinds=kinds, **kwargs)
    return dataset


def _people(visitors: Iterable[VisitorSummary]) -> list[str]:
    """The people, comparable whatever order a reader gives them in."""
    return sorted(json.dumps(dataclasses.asdict(v), sort_keys=True) for v in visitors)


def _sqlite(tmp_path: Path, events: list[Event] | None = None) -> SQLiteReader:
    db = tmp_path / "events.db"
    write_sqlite(db, scenario() if events is None else events)
    return SQLiteReader(db)


def _alone(db: Path) -> bool:
    """Whether no other connection has ``db`` open: leaving WAL mode needs that."""
    conn = sqlite3.connect(db, isolation_level=None, timeout=0)
    try:
        mode = conn.execute("PRAGMA journal_mode=DELETE").fetchone()[0]
        if mode != "delete":
            return False
        conn.execute("PRAGMA journal_mode=WAL")  # back as the tracker left it
        return True
    except sqlite3.OperationalError:
        return False
    finally:
        conn.close()


def test_sqlite_people_are_a_stream_read_once_with_the_totals_known_before(
    tmp_path: Path,
) -> None:
    dataset = _read(_sqlite(tmp_path))
    assert isinstance(dataset.visitors, VisitorStream)
    # Everything but the people is there before the pass.
    assert (dataset.events, dataset.anonymous_events) == (15, 2)
    assert dataset.goal_kinds["purchase"] == "macro"
    assert dataset.anonymous_goals["purchase"].revenue == {"USD": 50.0}
    assert len(list(dataset.visitors)) == 4
    with pytest.raises(RuntimeError, match="read once"):
        iter(dataset.visitors)


def _to_the_end(dataset: Dataset) -> None:
    list(dataset.visitors)


def _closed_halfway(dataset: Dataset) -> None:
    people = iter(dataset.visitors)
    next(people)
    people.close()  # type: ignore[attr-defined]


def _dropped_halfway(dataset: Dataset) -> None:
    people = iter(dataset.visitors)
    next(people)


def _failed_halfway(dataset: Dataset) -> None:
    with pytest.raises(ZeroDivisionError):
        for _ in dataset.visitors:
            1 / 0  # noqa: B018 - a report that fails while counting


def _never_read(dataset: Dataset) -> None:
    pass


ENDINGS: list[Callable[[Dataset], None]] = [
    _to_the_end,
    _closed_halfway,
    _dropped_halfway,
    _failed_halfway,
    _never_read,
]
#: The endings that end the stream while the dataset is held: read to the end, or closed.
ENDED = (_to_the_end, _closed_halfway)


@pytest.mark.parametrize("ending", ENDINGS, ids=lambda f: f.__name__.strip("_"))
def test_sqlite_connection_closes_however_the_stream_ends(
    tmp_path: Path, ending: Callable[[Dataset], None]
) -> None:
    reader = _sqlite(tmp_path)
    db = Path(reader.path)
    dataset = _read(reader)
    assert not _alone(db)  # the snapshot is held while the people are read
    ending(dataset)
    del dataset  # a stream dropped unread (or halfway) closes with it
    assert _alone(db)


def test_sqlite_people_are_one_snapshot_while_a_tracker_writes(tmp_path: Path) -> None:
    reader = _sqlite(tmp_path)
    expected = _people(_read(reader).visitors)
    dataset = _read(reader)
    # Between the read and the pass, a tracker writes: a new visitor, and an arrival
    # of alice's before her purchase that would be a touchpoint of hers.
    backend = SQLiteBackend(reader.path)
    backend.write(
        [
            make("page_view", 90, "alice", utm={"source": "late", "medium": "cpc"}),
            make("page_view", 95, "zoe"),
        ]
    )
    backend.close()
    assert _people(dataset.visitors) == expected
    assert len(list(_read(reader).visitors)) == 5  # the next report sees them


def test_linked_visitor_ids_are_merged_as_every_reader_merges_them(
    tmp_path: Path, postgres_table: tuple[str, Any]
) -> None:
    events = _linked_events()
    url, write = postgres_table
    write(events)
    write_jsonl(tmp_path / "e.jsonl", events, split=5)
    log = FileReader(tmp_path / "e.jsonl")
    merged = _read(log)
    # The log reader streams its people too, each visitor's state let go once read.
    assert isinstance(merged.visitors, VisitorStream)
    people = list(merged.visitors)
    expected = _people(people)
    for reader in (_sqlite(tmp_path, events), PostgresReader.from_url(url)):
        dataset = _read(reader)
        assert (
            dataset.links == merged.links == [("hank-laptop", "u-hank"), ("hank-phone", "u-hank")]
        )
        assert _people(dataset.visitors) == expected
        assert dataset.bot_visitors == merged.bot_visitors == 1
    (hank,) = [p for p in people if p.first_touch == ("newsletter", "email", "hank")]
    assert (hank.first_touch, hank.last_touch) == (
        ("newsletter", "email", "hank"),
        ("bing", "cpc", "hank"),
    )
    assert [point[1][0] for point in hank.touchpoints or []] == ["newsletter", "bing"]


def _sessions(url: str, name: str) -> int:
    """Sessions of the server called ``name`` (their application name)."""
    import psycopg

    with psycopg.connect(url.split("?", 1)[0], autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", [name]
        ).fetchone()
    return int(row[0]) if row else 0


def _sessions_gone(url: str, name: str) -> bool:
    """Whether the sessions called ``name`` are gone: a server ends a session shortly
    after its client closes it, so this asks again for a while."""
    deadline = time.monotonic() + 10
    while _sessions(url, name):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


@pytest.mark.parametrize("ending", ENDINGS, ids=lambda f: f.__name__.strip("_"))
def test_postgres_session_ends_however_the_stream_ends(
    postgres_table: tuple[str, Any], ending: Callable[[Dataset], None]
) -> None:
    url, write = postgres_table
    write(scenario())
    name = f"convsdk-report-{uuid.uuid4().hex[:12]}"
    dataset = _read(open_reader(f"{url}&application_name={name}"))
    assert isinstance(dataset.visitors, VisitorStream)
    assert _sessions(url, name) == 1
    ending(dataset)
    del dataset
    assert _sessions_gone(url, name)


def test_postgres_people_are_read_once_from_one_snapshot(
    postgres_table: tuple[str, Any],
) -> None:
    url, write = postgres_table
    write(scenario())
    reader = PostgresReader.from_url(url)
    expected = _people(_read(reader).visitors)
    dataset = _read(reader)
    # Written between the read and the pass: the arrivals are read during the pass.
    write(
        [
            make("page_view", 90, "alice", utm={"source": "late", "medium": "cpc"}),
            make("page_view", 95, "zoe"),
        ]
    )
    assert _people(dataset.visitors) == expected
    with pytest.raises(RuntimeError, match="read once"):
        iter(dataset.visitors)
    assert len(list(_read(reader).visitors)) == 5


def _duck(tmp_path: Path, events: list[Event] | None = None) -> Any:
    pytest.importorskip("duckdb")
    from convsdk.report.duck import DuckReader

    path = tmp_path / "log" / "events.jsonl"
    path.parent.mkdir()
    write_jsonl(path, scenario() if events is None else events, split=5)
    return DuckReader(path)


@pytest.fixture
def scratch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The system temp directory, for this test alone: DuckDB's database goes there."""
    found = tmp_path / "scratch"
    found.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(found))
    return found


def _open_in(directory: Path) -> list[str]:
    """The files under ``directory`` this process holds open (removed ones too)."""
    fds = Path("/proc/self/fd")
    if not fds.is_dir():  # pragma: no cover - Linux tells
        pytest.skip("no /proc/self/fd here to tell which files are open")
    found = []
    for fd in fds.iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue  # the directory's own descriptor, closed by now
        if target.startswith(str(directory)):
            found.append(target)
    return found


def test_duckdb_people_are_a_stream_read_once_with_the_totals_known_before(
    tmp_path: Path, scratch: Path
) -> None:
    dataset = _read(_duck(tmp_path))
    assert isinstance(dataset.visitors, VisitorStream)
    assert (dataset.events, dataset.anonymous_events) == (15, 2)
    assert dataset.goal_kinds["purchase"] == "macro"
    assert dataset.anonymous_goals["purchase"].revenue == {"USD": 50.0}
    assert len(list(dataset.visitors)) == 4
    with pytest.raises(RuntimeError, match="read once"):
        iter(dataset.visitors)


@pytest.mark.parametrize("ending", ENDINGS, ids=lambda f: f.__name__.strip("_"))
def test_duckdb_database_goes_however_the_stream_ends(
    tmp_path: Path, scratch: Path, ending: Callable[[Dataset], None]
) -> None:
    dataset = _read(_duck(tmp_path))
    (directory,) = scratch.iterdir()  # the database, until the people are read
    assert _open_in(directory)
    ending(dataset)
    if ending in ENDED:  # gone already, while the dataset is still held
        assert not directory.exists()
        assert _open_in(directory) == []  # and DuckDB let go of its files
    del dataset  # a stream dropped unread (or halfway) closes with it
    assert not directory.exists()
    assert _open_in(directory) == []


def test_duckdb_database_goes_when_the_log_is_handed_over(
    tmp_path: Path, scratch: Path, caplog: pytest.LogCaptureFixture
) -> None:
    reader = _duck(tmp_path)
    with open(reader.path, "ab") as fh:
        fh.write(b"this is not json\n")
    with caplog.at_level(logging.INFO, logger="convsdk.report"):
        dataset = _read(reader)
    assert "reading it line by line" in caplog.text  # the streaming reader's dataset
    assert len(list(dataset.visitors)) == 4
    assert list(scratch.iterdir()) == []
    assert _open_in(scratch) == []


def test_duckdb_merges_linked_visitor_ids_as_the_log_reader(tmp_path: Path, scratch: Path) -> None:
    events = _linked_events()
    reader = _duck(tmp_path, events)
    merged = _read(FileReader(reader.path))
    dataset = _read(reader)
    assert dataset.links == merged.links == [("hank-laptop", "u-hank"), ("hank-phone", "u-hank")]
    assert dataset.bot_visitors == merged.bot_visitors == 1
    assert _people(dataset.visitors) == _people(merged.visitors)


def _row(visitor_id: str, first_seen: int) -> VisitorRow:
    touch = ("ads", "cpc", visitor_id)
    return VisitorRow(
        visitor_id,
        first_seen,
        "https://ads.example/",
        "https://shop.example/",
        "Mozilla/5.0",
        None,
        None,
        None,
        touch,
        touch,
        (first_seen, first_seen + 5),
    )


def test_people_come_as_their_rows_are_read_and_linked_ones_once_complete() -> None:
    # b, d and e are one person (d is linked to both user ids); a, c and f are alone.
    links = [("b", "u1"), ("d", "u1"), ("d", "u2"), ("e", "u2")]
    rows = [_row(v, at) for v, at in [("a", 50), ("b", 40), ("c", 30), ("d", 20), ("e", 90)]]
    rows.append(_row("f", 10))
    conversions: list[ConversionRow] = [
        ("b", "buy", "macro", "USD", 1, 45, 9.0, None, 45),
        ("d", "buy", "macro", "USD", 2, 25, 4.0, None, 35),
        ("d", "buy", "macro", "EUR", 1, 30, 1.0, None, 30),
        ("f", "pricing", "micro", None, 1, 12, None, [12], 12),
    ]
    arrivals: list[ArrivalRow] = [("d", 21, {"source": "news"}, None, "https://shop.example/")]
    pulled: list[str] = []

    def visitors() -> Iterator[VisitorRow]:
        for row in rows:
            pulled.append(row.visitor_id)
            yield row

    merge = PeopleMerge(links, {"b", "d", "e"}, include_bots=False)
    people = merge.people(visitors(), conversions, arrivals)
    first = next(people)
    assert first.first_seen == 50 and pulled == ["a"]  # a, as soon as read
    second = next(people)
    assert second.first_seen == 30 and pulled == ["a", "b", "c"]  # b waits for d and e
    streamed = [first, second, *people]
    assert len(streamed) == 4
    # The same people as merge_people makes of every visitor's summary held at once.
    alone = PeopleMerge([], {"b", "d", "e"}, include_bots=False)
    held = {
        row.visitor_id: next(
            alone.people(
                [row],
                [c for c in conversions if c[0] == row.visitor_id],
                [a for a in arrivals if a[0] == row.visitor_id],
            )
        )
        for row in rows
    }
    dataset = Dataset(visitors=[])
    merge_people(dataset, held, links)
    assert _people(streamed) == _people(dataset.visitors)
    (person,) = [p for p in streamed if p.first_seen == 20]
    assert person.goals["buy"].count == 4 and person.goals["buy"].revenue == {
        "USD": 13.0,
        "EUR": 1.0,
    }
