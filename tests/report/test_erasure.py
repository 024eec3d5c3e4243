"""Erasure requests: a person's events deleted, and nothing made of them left behind.

Each test runs on SQLite and on the PostgreSQL server. hana (``u-hana``) has a phone and a
laptop, linked by logging in; her laptop's order H1 is in the revenue. After
``forget(users=["u-hana"])`` the store holds none of her events, its rollups and the
report kept counted hold nothing of her, and every report equals the report of the
events she was never part of.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from convsdk import ConfigError
from convsdk.cli import main
from convsdk.event import Event
from convsdk.report import load_report
from convsdk.report.erasure import forget
from convsdk.report.rollup import KeptReport, roll_up

from .conftest import Store, make, write_jsonl, write_sqlite
from .test_counted import COUNTED
from .test_rollup import DAY, STEPS, events_of_days

HANA = ("hana-laptop", "hana-phone")


def _without_hana(events: list[Event]) -> list[Event]:
    return [e for e in events if e.visitor_id not in HANA and e.user_id != "u-hana"]


def _with_a_server_side_event() -> list[Event]:
    """The shop's events, and a refund the server recorded for hana by her user id alone."""
    refund = make("refund", DAY + 5000, None, user_id="u-hana", value=-99.0, currency="USD")
    refund.context = {}
    return [*events_of_days(), refund]


def _figures(url: str, **options: Any) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(load_report(url, STEPS, **options).to_json())
    del data["meta"]
    return data


def _mentions(s: Store, text: str) -> list[str]:
    """The tables of the store (events and rollups) with a row mentioning ``text``."""
    if s.url.startswith("sqlite"):
        conn = sqlite3.connect(s.url.removeprefix("sqlite:///"))
        try:
            names = [
                n for (n,) in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
            ]
            return [
                name
                for name in names
                if any(text in repr(row) for row in conn.execute(f'SELECT * FROM "{name}"'))
            ]
        finally:
            conn.close()
    import psycopg

    from .conftest import POSTGRES_URL

    table = s.url.split("table=")[1]
    with psycopg.connect(POSTGRES_URL) as conn:
        names = [
            n
            for (n,) in conn.execute(
                "SELECT tablename FROM pg_tables WHERE tablename LIKE %s", [f"{table}%"]
            )
        ]
        found = []
        for name in names:
            rows = conn.execute(f'SELECT t::text FROM "{name}" t').fetchall()
            if any(text in row[0] for row in rows):
                found.append(name)
        return found


def test_a_user_is_erased_with_every_browser_they_logged_in_from(
    store: Callable[..., Store], caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    events = _with_a_server_side_event()
    s = store(events)
    roll_up(s.url, keep=KeptReport(STEPS, interval="day"))
    assert _mentions(s, "hana-laptop")
    done = forget(s.url, users=["u-hana"])
    assert (done.users, done.visitors) == (("u-hana",), HANA)
    assert done.events == len(events) - len(_without_hana(events)) == 8
    assert done.rollups is not None and done.rollups.rebuilt == "asked"
    # Nothing of her is left: not her events, not the rollups' summaries of them.
    for trace in (*HANA, "u-hana", "H1"):
        assert _mentions(s, trace) == [], trace
    # Every report is the report of a store she was never in, the one kept counted too.
    never = write_sqlite(tmp_path / "never.db", _without_hana(events))
    expected = _figures(never, interval="day", rollups=False)
    assert _figures(s.url, interval="day", rollups=False) == expected
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="convsdk.report"):
        assert _figures(s.url, interval="day") == expected
    assert COUNTED in caplog.text
    assert _figures(s.url) == _figures(s.url, rollups=False)


def test_a_dry_run_counts_and_changes_nothing(store: Callable[..., Store]) -> None:
    s = store(events_of_days())
    roll_up(s.url)
    before = _figures(s.url, rollups=False)
    done = forget(s.url, users=["u-hana"], visitors=["ivan"], dry_run=True)
    assert done.dry_run and done.rollups is None
    assert done.visitors == ("hana-laptop", "hana-phone", "ivan")
    assert done.events == 9  # hana's 7, ivan's 2
    assert _figures(s.url, rollups=False) == before
    assert _mentions(s, "hana-laptop")


def test_a_visitor_alone_and_nobody_at_all(store: Callable[..., Store]) -> None:
    s = store(events_of_days())
    done = forget(s.url, visitors=["ivan"])
    assert (done.visitors, done.events, done.rollups) == (("ivan",), 2, None)  # no rollups
    assert _mentions(s, "ivan") == []
    assert _mentions(s, "hana-laptop") == [s.table]  # only whom it was asked
    nobody = forget(s.url, users=["u-nobody"])
    assert (nobody.visitors, nobody.events) == ((), 0)


def test_the_rollups_of_another_table_are_left_alone(tmp_path: Path) -> None:
    # One database, two events tables: the rollups are the other table's.
    url = write_sqlite(tmp_path / "events.db", events_of_days())
    conn = sqlite3.connect(tmp_path / "events.db")
    conn.execute("CREATE TABLE staging AS SELECT * FROM convsdk_events")
    conn.commit()
    conn.close()
    roll_up(url)
    before = _figures(url)
    done = forget(f"{url}?table=staging", users=["u-hana"])
    assert done.events == 7 and done.rollups is None
    assert _figures(url) == before == _figures(url, rollups=False)


def test_rollups_that_cannot_be_made_again_are_told(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from convsdk import BackendError
    from convsdk.report import erasure

    url = write_sqlite(tmp_path / "events.db", events_of_days())
    roll_up(url)

    def failing(*args: Any, **kwargs: Any) -> None:
        raise BackendError("disk I/O error", backend="sqlite")

    monkeypatch.setattr(erasure, "roll_up", failing)
    with pytest.raises(BackendError, match="erased 7 events, but the rollups could not"):
        forget(url, users=["u-hana"])
    monkeypatch.undo()
    # Her events are gone, and with them the rollups (dropped in the same transaction):
    # reports read the events until the rollups are made again.
    conn = sqlite3.connect(tmp_path / "events.db")
    left = conn.execute("SELECT COUNT(*) FROM convsdk_events WHERE user_id = 'u-hana'")
    assert left.fetchone() == (0,)
    conn.close()
    assert _figures(url) == _figures(url, rollups=False)
    roll_up(url)
    assert _figures(url) == _figures(url, rollups=False)


def test_what_cannot_be_erased_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="name the people"):
        forget(f"sqlite:///{tmp_path / 'e.db'}")
    with pytest.raises(ConfigError, match="expected ids as non-empty text"):
        forget(f"sqlite:///{tmp_path / 'e.db'}", users=[""])
    with pytest.raises(ConfigError, match="SQLite or PostgreSQL store or a JSON Lines") as info:
        forget("redis://127.0.0.1:6379/0/events", users=["u-hana"])
    assert info.value.field == "url"
    with pytest.raises(ConfigError, match="no event log here"):
        forget(f"file://{tmp_path / 'missing.jsonl'}", users=["u-hana"])
    with pytest.raises(ConfigError, match="no SQLite database"):
        forget(f"sqlite:///{tmp_path / 'missing.db'}", users=["u-hana"])
    sqlite3.connect(tmp_path / "other.db").execute("CREATE TABLE t (x)").connection.close()
    with pytest.raises(ConfigError, match="no convsdk_events table"):
        forget(f"sqlite:///{tmp_path / 'other.db'}", users=["u-hana"])
    assert not (tmp_path / "missing.db").exists()


def test_the_sqlite_file_keeps_no_byte_of_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Deleted rows and dropped tables stay in a database file's free pages, and in its
    # write-ahead log, unless they are overwritten: by default most builds of SQLite
    # (Debian's is one exception) leave them.
    url = write_sqlite(tmp_path / "events.db", events_of_days())
    roll_up(url, keep=KeptReport(STEPS))
    connect = sqlite3.connect

    def leaving_deleted_bytes(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        conn = connect(*args, **kwargs)
        conn.execute("PRAGMA secure_delete = OFF")
        return conn

    # A tracker keeps the database open: the last connection's closing does not
    # checkpoint the write-ahead log then.
    tracker = connect(tmp_path / "events.db")
    tracker.execute("SELECT COUNT(*) FROM convsdk_events").fetchone()
    monkeypatch.setattr(sqlite3, "connect", leaving_deleted_bytes)
    forget(url, users=["u-hana"])
    monkeypatch.undo()
    files = [p for p in tmp_path.iterdir() if p.name.startswith("events.db")]
    assert files
    for path in files:
        data = path.read_bytes()
        for trace in (b"hana-laptop", b"hana-phone", b"u-hana"):
            assert trace not in data, (path.name, trace)
    assert b"ivan" in (tmp_path / "events.db").read_bytes()
    tracker.close()


def test_a_running_tracker_keeps_storing_beside_an_erasure(tmp_path: Path) -> None:
    import convsdk

    url = write_sqlite(tmp_path / "events.db", events_of_days())
    roll_up(url)
    with convsdk.Tracker(backend=url, spool_dir=None) as tracker:
        for n in range(20):  # live-0 is hana's third browser
            tracker.emit(
                make("page_view", 7 * DAY + n, f"live-{n}", user_id="u-hana" if n == 0 else None)
            )
        assert tracker.flush(timeout=10)
        done = forget(url, users=["u-hana"])
        assert "live-0" in done.visitors and done.rollups is not None
        for n in range(20, 40):
            tracker.emit(make("page_view", 7 * DAY + n, f"live-{n}"))
        assert tracker.flush(timeout=10)
        assert tracker.stats()["dropped"] == 0
    conn = sqlite3.connect(tmp_path / "events.db")
    live = {
        v
        for (v,) in conn.execute(
            "SELECT visitor_id FROM convsdk_events WHERE visitor_id LIKE 'live-%'"
        )
    }
    hana = conn.execute("SELECT COUNT(*) FROM convsdk_events WHERE user_id = 'u-hana'").fetchone()
    conn.close()
    assert live == {f"live-{n}" for n in range(1, 40)} and hana == (0,)
    report = load_report(url, STEPS)  # the rollups and the events stored after them
    assert report.summary.visitors == load_report(url, STEPS, rollups=False).summary.visitors


def _log_lines(directory: Path) -> list[bytes]:
    """Every line of the log's files (rotated ones first), and nothing else there."""
    files = sorted(directory.glob("events.jsonl*"), key=lambda p: p.name, reverse=True)
    assert not [p for p in directory.iterdir() if p.name.startswith(".")]  # no temp left
    return [line for path in files for line in path.read_bytes().splitlines(keepends=True)]


def test_a_log_is_rewritten_without_their_lines(tmp_path: Path) -> None:
    events = _with_a_server_side_event()
    log = write_jsonl(tmp_path / "events.jsonl", events, split=20)  # a rotated file too
    before = _log_lines(tmp_path)
    dry = forget(log, users=["u-hana"], dry_run=True)
    assert (dry.visitors, dry.events) == (HANA, 8) and _log_lines(tmp_path) == before
    # Whoever still holds the old files open (a backup in progress, a tail) reads zeros.
    held = [open(path, "rb") for path in tmp_path.glob("events.jsonl*")]  # noqa: SIM115
    done = forget(log, users=["u-hana"])
    assert (done.visitors, done.events, done.rollups) == (HANA, 8, None)
    for handle in held:
        assert handle.read().strip(b"\0") == b""
        handle.close()
    after = _log_lines(tmp_path)
    # Every other line is kept byte for byte, in its file and order; none of hers is.
    assert after == [line for line in before if b"hana" not in line]
    for path in tmp_path.iterdir():
        data = path.read_bytes()
        assert b"hana" not in data and b"u-hana" not in data, path.name
    never = write_sqlite(tmp_path / "never.db", _without_hana(events))
    assert _figures(log) == _figures(never, rollups=False)


def test_a_tracker_appending_to_the_log_follows_its_new_file(tmp_path: Path) -> None:
    import convsdk
    from convsdk.backends.file import FileBackend

    log = write_jsonl(tmp_path / "events.jsonl", events_of_days())
    # A writer that holds the file open from before the erasure...
    other = FileBackend(tmp_path / "events.jsonl")
    other.write([make("page_view", 7 * DAY, "early")])
    with convsdk.Tracker(backend=log, spool_dir=None) as tracker:
        for n in range(20):  # live-0 is hana's third browser
            user = "u-hana" if n == 0 else None
            tracker.emit(make("page_view", 7 * DAY + n, f"live-{n}", user_id=user))
        assert tracker.flush(timeout=10)
        done = forget(log, users=["u-hana"])
        assert "live-0" in done.visitors
        for n in range(20, 40):
            tracker.emit(make("page_view", 7 * DAY + n, f"live-{n}"))
        assert tracker.flush(timeout=10)
        assert tracker.stats()["dropped"] == 0
    # ...writes its next batch to the file that replaced it, as after a rotation.
    other.write([make("page_view", 8 * DAY, "late")])
    other.close()
    lines = _log_lines(tmp_path)
    visitors = {json.loads(line)["visitor_id"] for line in lines}
    assert {f"live-{n}" for n in range(1, 40)} | {"early", "late"} <= visitors
    assert not visitors & {"live-0", *HANA}


def test_the_forget_command_takes_a_log_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    write_jsonl(tmp_path / "events.jsonl", events_of_days())
    monkeypatch.chdir(tmp_path)
    assert main(["forget", "events.jsonl", "--user", "u-hana"]) == 0
    assert capsys.readouterr().out == "erased 7 events of 2 visitor ids (user u-hana)\n"
    assert b"hana" not in (tmp_path / "events.jsonl").read_bytes()


def test_events_waiting_in_a_spool_are_told(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A tracker whose store was down keeps events in its spool, to replay them later.
    # The erasure counts them there, and lists the people erased in the spool for its
    # trackers (tests/test_erasures.py): their segments are only read.
    url = write_sqlite(tmp_path / "events.db", events_of_days())
    spool = tmp_path / "spool"
    (spool / "dead-letter").mkdir(parents=True)
    waiting = [make("page_view", 9 * DAY, "hana-phone"), make("page_view", 9 * DAY, "ivan")]
    segment = spool / "00017323860009876543-4242-0b7d6e11.seg.jsonl"
    segment.write_text("".join(json.dumps(e.to_dict()) + "\n" for e in waiting))
    refused = make("identify", 9 * DAY + 1, "hana-laptop", user_id="u-hana")
    letter = {"error": "refused", "event": refused.to_dict()}
    (spool / "dead-letter" / "00017323860001111111-4242-c0ffee00.jsonl").write_text(
        json.dumps(letter) + "\n"
    )
    before = {p: p.read_bytes() for p in spool.rglob("*.jsonl")}
    done = forget(url, users=["u-hana"], spools=[spool])
    assert (done.events, done.waiting) == (7, 2)
    assert {p: p.read_bytes() for p in spool.rglob("*.jsonl")} == before  # only read
    assert main(["forget", url, "--visitor", "hana-phone", "--spool", str(spool)]) == 0
    out = capsys.readouterr().out
    assert "1 event of theirs wait in the spool" in out


def test_the_forget_command(
    store: Callable[..., Store], capsys: pytest.CaptureFixture[str]
) -> None:
    s = store(events_of_days())
    roll_up(s.url)
    assert main(["forget", s.url, "--user", "u-hana", "--dry-run"]) == 0
    assert capsys.readouterr().out == (
        "would erase 7 events of 2 visitor ids (user u-hana); nothing changed\n"
    )
    assert main(["forget", s.url, "--user", "u-hana", "--visitor", "ivan"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("erased 9 events of 3 visitor ids (user u-hana)\n")
    assert "made the rollups again without them" in out
    assert main(["forget", s.url, "--user", "u-hana"]) == 0
    assert capsys.readouterr().out == "no events of 0 visitor ids (user u-hana): nothing erased\n"
    assert main(["forget", s.url]) == 2
    assert "name the people to forget" in capsys.readouterr().err
