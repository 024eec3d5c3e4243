"""Reading stored events back: every store gives the same report on the same events.

The figures checked here are worked out by hand from ``conftest.scenario()``.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import tracemalloc
from contextlib import closing
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from convsdk import BackendError, ConfigError
from convsdk.event import Event
from convsdk.report import load_report, open_reader, render_html, render_text
from convsdk.report.jsonl import FileReader
from convsdk.report.rollup import roll_up
from convsdk.report.sql import PostgresReader, SQLiteReader

from .conftest import GOALS, T0, event_id, make, scenario, write_jsonl, write_sqlite


def _figures(source: str, **kwargs: Any) -> dict[str, Any]:
    """The report as JSON, without ``meta`` (which names the source, and the time)."""
    data: dict[str, Any] = json.loads(load_report(source, GOALS, since=T0, **kwargs).to_json())
    del data["meta"]
    return data


def _messy_log(path: Path) -> str:
    """The scenario as a rotated log, with a re-sent event, garbage and a torn last line."""
    events = scenario()
    url = write_jsonl(path, events, split=7)
    with open(path, "ab") as fh:
        # An event delivered twice (at-least-once): the same line again, in the other file.
        fh.write(json.dumps(events[3].to_dict()).encode() + b"\n")
        fh.write(b"this is not json\n")
        fh.write(b'{"no": "event"}\n')
        fh.write(b'{"event_id": "00000000-0000-7000-8000-999999999999", "name": "page_vi')
    return url


def check_scenario(data: dict[str, Any]) -> None:
    """The report of ``scenario()`` from T0 on (see its docstring for the story)."""
    summary = data["summary"]
    # Everything but erin's early page view: alice 6, bob 4, carol 2, dave 1, anonymous 2.
    assert summary["events"] == 15
    assert summary["visitors"] == 4
    assert summary["converters"] == 2
    assert summary["micro_converters"] == 4
    assert summary["conversion_rate"] == 0.5
    # Order T1 sent twice counts once; euros and dollars are never added up.
    assert summary["revenue"] == {"EUR": 35.0, "USD": 30.0}
    assert summary["revenue_per_visitor"] == {"EUR": 8.75, "USD": 7.5}
    assert summary["anonymous"] == {
        "events": 2,
        "interactions": 1,
        "conversions": 1,
        "revenue": {"USD": 50.0},
        "server_side": 0,
        "server_side_users": 0,
    }
    goals = {g["goal"]: g for g in data["goals"]}
    assert list(goals) == ["viewed_pricing", "newsletter", "purchase", "video_played"]
    purchase = goals["purchase"]
    assert (purchase["conversions"], purchase["visitors"]) == (3, 2)
    assert purchase["anonymous_conversions"] == 1
    assert purchase["anonymous_revenue"] == {"USD": 50.0}
    # Time to convert: alice 120 s, bob 500 - 10 = 490 s.
    assert purchase["time_to_convert"] == {"count": 2, "median": 305.0, "p90": 453.0}
    assert goals["viewed_pricing"]["conversion_rate"] == 0.75
    video = goals["video_played"]
    assert (video["defined"], video["kind"], video["visitors"]) == (False, "micro", 1)
    (funnel,) = data["funnels"]
    assert [s["visitors"] for s in funnel["steps"]] == [3, 2]
    # alice 60 s from pricing to purchase, bob 200 s (his first purchase after pricing).
    assert funnel["steps"][1]["time_from_previous"] == {"count": 2, "median": 130.0, "p90": 186.0}
    # Lower bounds of the lifts' intervals: video 0.6055 (1 of 1 against 1 of 3),
    # newsletter 0.0323 (0 of 1 against 2 of 3, corrected); viewed_pricing 0.2016 (2 of 3
    # against 0 of 1, corrected) comes last: every buyer viewed pricing first.
    lift = [
        (r["micro"], r["lift"], round(r["lift_ci_low"], 4), r["prerequisite"]) for r in data["lift"]
    ]
    assert lift == [
        ("video_played", 3.0, 0.6055, False),
        ("newsletter", 0.0, 0.0323, False),
        ("viewed_pricing", None, 0.2016, True),
    ]
    first = {r["value"]: r for r in data["breakdowns"]["first_touch"]["source"]}
    assert first["google"]["revenue"] == {"USD": 30.0}
    assert (first["(none)"]["visitors"], first["(none)"]["conversions"]) == (3, 2)
    last = [r["value"] for r in data["breakdowns"]["last_touch"]["campaign"]]
    assert last == ["(none)", "brand"]  # alice's newsletter visit came after she bought
    referrers = {r["value"]: r["visitors"] for r in data["breakdowns"]["referrer"]}
    assert referrers == {"(direct)": 2, "(internal)": 1, "google.com": 1}
    variants = data["breakdowns"]["variant"]
    assert variants["control"] == "A"
    assert [(r["value"], r["visitors"], r["converters"]) for r in variants["rows"]] == [
        ("A", 2, 1),
        ("B", 1, 1),
        ("(none)", 1, 0),
    ]


def test_sqlite_report(tmp_path: Path) -> None:
    check_scenario(_figures(write_sqlite(tmp_path / "events.db", scenario())))


def test_jsonl_report_drops_repeats_garbage_and_torn_lines(
    tmp_path: Path, engine: str, caplog: pytest.LogCaptureFixture
) -> None:
    url = _messy_log(tmp_path / "events.jsonl")
    with caplog.at_level(logging.WARNING, logger="convsdk.report"):
        check_scenario(_figures(url))
    messages = " ".join(r.getMessage() for r in caplog.records)
    assert "torn last line" in messages
    assert "not an event" in messages


def test_every_store_gives_the_same_report(
    tmp_path: Path, engine: str, postgres_table: tuple[str, Any]
) -> None:
    events = scenario()
    url, write = postgres_table
    write(events)
    sqlite_figures = _figures(write_sqlite(tmp_path / "events.db", events))
    assert _figures(_messy_log(tmp_path / "events.jsonl"), engine=engine) == sqlite_figures
    assert _figures(url) == sqlite_figures
    check_scenario(sqlite_figures)


def test_a_goals_kind_is_that_of_the_conversions_that_count(
    tmp_path: Path, engine: str, postgres_table: tuple[str, Any]
) -> None:
    # Order G1 is recorded as a micro conversion, then sent again as a macro one: the
    # second does not count, nor does its kind. So "gift" stays micro in every store,
    # and so do whatever figures hang on it (converters, macro goals, time to convert).
    from convsdk.report import report_from_events

    from .test_rollup import STEPS, events_of_days

    events = events_of_days()
    url, write = postgres_table
    write(events)

    def figures(source: str, **options: Any) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(load_report(source, STEPS, **options).to_json())
        del data["meta"]
        return data

    expected = figures(write_sqlite(tmp_path / "events.db", events))
    assert "gift" in expected["micro_goals"] and "gift" not in expected["macro_goals"]
    assert figures(url) == expected
    log = write_jsonl(tmp_path / "events.jsonl", events)
    assert figures(log, engine=engine) == expected
    held = json.loads(report_from_events(events, STEPS).to_json())
    del held["meta"]
    assert held == expected


def test_lines_other_writers_make_are_read_alike_by_every_engine(
    tmp_path: Path, engine: str, caplog: pytest.LogCaptureFixture
) -> None:
    # A log written by another program, with Python's json.dumps: NaN and Infinity as
    # values, numbers where convsdk writes text, spaces after the separators.
    def line(event: Event, **changes: Any) -> str:
        return json.dumps({**event.to_dict(), **changes})

    buy = {"path": "/checkout", "kind": "macro", "goal": "purchase", "currency": "USD"}
    lines = [
        line(make("page_view", 0, "v1")),
        line(make("checkout", 10, "v1", **buy), value=float("nan")),
        line(make("checkout", 20, "v2", **buy), value=float("inf")),
        line(make("checkout", 30, "v3", **buy), value=10**400),
        line(make("page_view", 40, "v4"), goal=17),  # no conversion: its goal is not read
        line(make("checkout", 50, "v5", **buy), goal=17),  # not an event
        line(make("page_view", 60, "v6"), visitor_id=42),  # not an event
        line(make("identify", 70, "v7", user_id="7")),
        line(make("identify", 80, "v8"), user_id=7),  # the same user as v7's
        line(make("checkout", 90, "v9", **buy), transaction_id=5, value=10.0),
        line(make("checkout", 95, "v10", **buy), transaction_id="5", value=10.0),  # again
    ]
    path = tmp_path / "other.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="convsdk.report"):
        data = _figures(f"file://{path}", engine=engine)
    summary = data["summary"]
    assert summary["events"] == 9
    assert (summary["merged_visitor_ids"], summary["merged_people"]) == (2, 1)
    assert summary["revenue"] == {"USD": 10.0}  # no value is NaN, Infinity or beyond
    purchase = next(g for g in data["goals"] if g["goal"] == "purchase")
    assert (purchase["conversions"], purchase["visitors"]) == (4, 4)  # order 5 once
    skipped = [r.getMessage() for r in caplog.records if "not an event" in r.getMessage()]
    reasons = sorted(message.rsplit(": ", 1)[0].rsplit(": ", 1)[1] for message in skipped)
    assert reasons == ["goal is not a string", "visitor_id is not a string"], skipped
    assert _figures(f"file://{path}", engine="python") == data


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_histories_read_alike_by_every_engine(
    tmp_path: Path, engine: str, seed: int
) -> None:
    # The rollup tests' history, with random late visits, conversions, orders sent
    # again, logins and a bot: the log's report is the database's, option by option.
    import random

    from convsdk.report import report_from_events

    from .test_counted import DAY, _random_events
    from .test_rollup import STEPS, events_of_days

    visitors = ["ivan", "jo", "kim", "hana-phone", "lea"]
    events = events_of_days() + _random_events(random.Random(seed), visitors, 3 * DAY, 150)
    db = write_sqlite(tmp_path / "events.db", events)
    log = write_jsonl(tmp_path / "events.jsonl", events)
    for options in (
        {},
        {"interval": "day", "by": "channel"},
        {"include_bots": True, "by": "variant", "since": "2026-11-02", "until": "2026-11-05"},
    ):
        expected = json.loads(load_report(db, STEPS, **options).to_json())
        found = json.loads(load_report(log, STEPS, engine=engine, **options).to_json())
        held = json.loads(report_from_events(events, STEPS, **options).to_json())
        for data in (expected, found, held):
            del data["meta"]
        assert found == expected, options
        assert held == expected, options


def _touches() -> list[Event]:
    """Three visitors' touches around their purchases, in no particular order.

    - vic: Google ad, then the newsletter, buys, then a Facebook ad: first touch google,
      last touch newsletter (the ad after the purchase gets no credit);
    - nora: Google, then Facebook, never buys: her last touch is facebook;
    - pat: direct, buys, then the newsletter: no touch before the purchase, none at all.
    """
    google = {"source": "google", "medium": "cpc", "campaign": "brand"}
    mail = {"source": "newsletter", "medium": "email", "campaign": "weekly"}
    facebook = {"source": "facebook", "medium": "paid_social", "campaign": "launch"}
    buy = {
        "path": "/checkout",
        "kind": "macro",
        "goal": "purchase",
        "value": 10.0,
        "currency": "USD",
    }
    events = [
        make("page_view", 400, "vic", utm=facebook),
        make("page_view", 0, "vic", utm=google),
        make("checkout", 300, "vic", **buy),
        make("page_view", 100, "vic", utm=mail),
        make("page_view", 50, "nora", utm=facebook),
        make("page_view", 5, "nora", utm=google),
        make("page_view", 20, "pat"),
        make("page_view", 90, "pat", utm=mail),
        make("checkout", 60, "pat", **buy),
    ]
    return events


def _touch_rows(data: dict[str, Any], touch: str) -> dict[str, tuple[int, int]]:
    rows = data["breakdowns"][touch]["source"]
    return {r["value"]: (r["visitors"], r["converters"]) for r in rows}


def test_touches_after_the_first_purchase_get_no_credit(
    tmp_path: Path, engine: str, postgres_table: tuple[str, Any]
) -> None:
    events = _touches()
    url, write = postgres_table
    write(events)
    expected = _figures(write_sqlite(tmp_path / "events.db", events))
    assert _touch_rows(expected, "first_touch") == {"google": (2, 1), "(none)": (1, 1)}
    assert _touch_rows(expected, "last_touch") == {
        "newsletter": (1, 1),
        "facebook": (1, 0),
        "(none)": (1, 1),
    }
    assert _figures(write_jsonl(tmp_path / "e.jsonl", events), engine=engine) == expected
    assert _figures(url) == expected


def test_events_tracked_outside_a_request_are_told_apart_from_do_not_track(
    tmp_path: Path, engine: str, postgres_table: tuple[str, Any]
) -> None:
    # A webhook renews two subscriptions of one user and one of another, and a job
    # records one without a user: no request, so no context and no visitor.
    renewals = [
        Event(
            "renewal",
            kind="macro",
            goal="renewal",
            value=9.0,
            currency="USD",
            user_id=user,
            timestamp=T0 + timedelta(seconds=200 + n),
            event_id=event_id(),
        )
        for n, user in enumerate(["u-1", "u-1", "u-2", None])
    ]
    events = scenario() + renewals
    url, write = postgres_table
    write(events)
    expected = _figures(write_sqlite(tmp_path / "events.db", events))
    assert expected["summary"]["anonymous"] == {
        "events": 6,
        "interactions": 1,
        "conversions": 5,
        "revenue": {"USD": 86.0},  # the renewals' kind comes from the events: macro
        "server_side": 4,
        "server_side_users": 2,
    }
    assert _figures(write_jsonl(tmp_path / "e.jsonl", events), engine=engine) == expected
    assert _figures(url) == expected
    text = render_text(load_report(write_sqlite(tmp_path / "t.db", events), GOALS, since=T0))
    assert "Anonymous events (DNT / GPC)" in text and "Server-side events" in text
    [row] = [line for line in text.splitlines() if "Server-side events" in line]
    assert "4 (2 users)" in row


def test_touches_are_cut_at_the_first_macro_goal_of_the_goal_file(
    tmp_path: Path, engine: str, postgres_table: tuple[str, Any]
) -> None:
    # "purchase" events stored as micro (before the goal was promoted to macro in the
    # goal file): a campaign visit 5 h after the purchase still gets no credit.
    google = {"source": "google", "medium": "cpc", "campaign": "brand"}
    facebook = {"source": "facebook", "medium": "paid_social", "campaign": "retarget"}
    events = [
        make("page_view", 0, "ana", utm=google),
        make("checkout", 60, "ana", path="/checkout", kind="micro", goal="purchase"),
        make("page_view", 5 * 3600, "ana", utm=facebook),
    ]
    url, write = postgres_table
    write(events)
    expected = _figures(write_sqlite(tmp_path / "events.db", events))
    assert _touch_rows(expected, "last_touch") == {"google": (1, 1)}
    assert _figures(write_jsonl(tmp_path / "e.jsonl", events), engine=engine) == expected
    assert _figures(url) == expected


GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"


def test_known_bots_are_left_out_and_counted_unless_asked_for(
    tmp_path: Path, engine: str, postgres_table: tuple[str, Any]
) -> None:
    # A crawler stored by another path than the middleware (which drops bots): it
    # views pricing on its first event and "buys" on its second.
    crawler = [
        make("page_view", 5, "crawler", path="/pricing", kind="micro", goal="viewed_pricing"),
        make("checkout", 6, "crawler", path="/checkout", kind="macro", goal="purchase"),
    ]
    for event in crawler:
        event.context["user_agent"] = GOOGLEBOT
    events = scenario() + crawler
    url, write = postgres_table
    write(events)
    sqlite_url = write_sqlite(tmp_path / "events.db", events)
    jsonl_url = write_jsonl(tmp_path / "e.jsonl", events)
    expected = _figures(sqlite_url)
    people = _figures(write_sqlite(tmp_path / "people.db", scenario()))
    # The same figures as without the crawler, but for the event count and the count of
    # bots left out.
    assert expected["summary"].pop("bot_visitors") == 1
    assert expected["summary"].pop("events") == people["summary"].pop("events") + 2
    people["summary"].pop("bot_visitors")
    assert expected == people
    for source in (jsonl_url, url):
        again = _figures(source, engine=engine)
        assert again["summary"].pop("bot_visitors") == 1
        again["summary"].pop("events")
        assert again == expected, source
    for source in (sqlite_url, jsonl_url, url):
        counted = _figures(source, engine=engine, include_bots=True)
        assert counted["summary"]["visitors"] == 5 and counted["summary"]["bot_visitors"] == 0


def test_same_report_with_a_time_range_and_funnel_steps(
    tmp_path: Path, engine: str, postgres_table: tuple[str, Any]
) -> None:
    events = scenario()
    url, write = postgres_table
    write(events)
    window = {"until": "2026-11-02T10:05:00Z"}  # alice's return and dave are cut off
    expected = _figures(write_sqlite(tmp_path / "events.db", events), **window)
    assert expected["summary"]["visitors"] == 3
    assert _figures(write_jsonl(tmp_path / "e.jsonl", events), engine=engine, **window) == expected
    assert _figures(url, engine=engine, **window) == expected


def test_plain_paths_pick_the_store_by_suffix(tmp_path: Path) -> None:
    db = tmp_path / "events.db"
    write_sqlite(db, scenario())
    log = tmp_path / "events.jsonl"
    write_jsonl(log, scenario())
    assert isinstance(open_reader(str(db)), SQLiteReader)
    assert isinstance(open_reader(str(log), engine="python"), FileReader)
    assert _figures(str(db)) == _figures(str(log))


def test_sqlite_reader_takes_a_table_and_leaves_the_database_alone(tmp_path: Path) -> None:
    db = tmp_path / "events.db"
    write_sqlite(db, scenario())
    conn = sqlite3.connect(db)
    conn.execute("ALTER TABLE convsdk_events RENAME TO shop_events")
    conn.commit()
    conn.close()
    before = db.stat().st_mtime_ns
    check_scenario(_figures(f"sqlite:///{db}?table=shop_events"))
    assert db.stat().st_mtime_ns == before  # opened read-only
    with pytest.raises(ConfigError, match="no convsdk_events table"):
        load_report(f"sqlite:///{db}")


def test_a_missing_store_is_a_config_error_naming_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no SQLite database"):
        load_report(tmp_path / "missing.db")
    assert not (tmp_path / "missing.db").exists()  # and it was not created
    with pytest.raises(ConfigError, match="no event log"):
        load_report(f"file://{tmp_path}/missing.jsonl")
    with pytest.raises(ConfigError, match="cannot tell what kind of store"):
        open_reader(tmp_path / "events.csv")
    with pytest.raises(ConfigError, match="redis://"):
        open_reader("redis://localhost/stream")
    with pytest.raises(ConfigError, match="not a table name"):
        open_reader("postgresql://localhost/db?table=x;drop")
    (tmp_path / "junk.db").write_bytes(b"not a database at all, just some bytes" * 200)
    with pytest.raises(ConfigError, match="not a SQLite database"):
        load_report(tmp_path / "junk.db")


def test_postgres_url_options_are_split_from_libpq_ones() -> None:
    reader = PostgresReader.from_url(
        "postgres://u:secret@db/shop?table=a.events&statement_timeout=30&sslmode=disable"
    )
    assert reader.table == "a.events"
    assert reader.statement_timeout == 30.0
    assert reader.conninfo == "postgresql://u:secret@db/shop?sslmode=disable"
    assert "secret" not in reader.source
    with pytest.raises(ConfigError, match="statement_timeout"):
        PostgresReader.from_url("postgresql://db/shop?statement_timeout=soon")


def test_unreachable_postgres_is_a_backend_error() -> None:
    reader = open_reader("postgresql://nobody@127.0.0.1:1/none?connect_timeout=2")
    with pytest.raises(BackendError, match="cannot connect"):
        reader.read()


def test_log_reader_counts_a_repeated_event_once_and_keeps_the_first_transaction(
    tmp_path: Path,
) -> None:
    first = make(
        "checkout",
        10,
        "v",
        kind="macro",
        goal="purchase",
        value=10.0,
        currency="USD",
        transaction_id="T",
    )
    again = make(
        "checkout",
        5,
        "v",
        kind="macro",
        goal="purchase",
        value=99.0,
        currency="USD",
        transaction_id="T",
    )  # earlier, though written later
    other_goal = make(
        "checkout",
        20,
        "v",
        kind="macro",
        goal="renewal",
        value=7.0,
        currency="USD",
        transaction_id="T",
    )
    log = tmp_path / "events.jsonl"
    write_jsonl(log, [first, first, again, other_goal, first])
    report = load_report(log)
    goals = {g.goal: g for g in report.goals}
    # One order T per goal; the earliest event of it carries the value.
    assert (goals["purchase"].conversions, goals["purchase"].revenue) == (1, {"USD": 99.0})
    assert goals["renewal"].revenue == {"USD": 7.0}
    assert report.summary.events == 3
    db = tmp_path / "events.db"
    write_sqlite(db, [first, again, other_goal])
    assert load_report(db).to_dict() | {"meta": None} == report.to_dict() | {"meta": None}


def test_log_lines_in_another_key_order_are_read(tmp_path: Path) -> None:
    event = make("page_view", 0, "v", referrer="https://ref.example/")
    data = event.to_dict()
    log = tmp_path / "events.jsonl"
    line = json.dumps(dict(reversed(list(data.items()))))
    log.write_text(f"{line}\n{line}\n", encoding="utf-8")
    report = load_report(log)
    assert (report.summary.events, report.summary.visitors) == (1, 1)
    assert report.breakdowns.referrer[0].value == "ref.example"


def test_a_database_written_with_other_json_spacing_gives_the_same_report(tmp_path: Path) -> None:
    # Another writer (a collector in another language, a hand-run import) may store the
    # context as '{"utm": {...}, "referrer": "..."}': the reader's text tests before the
    # JSON is parsed must let every such touch through, and keep out the null ones.
    events = [*scenario(), *_touches()]
    compact = _figures(write_sqlite(tmp_path / "compact.db", events))
    spaced = tmp_path / "spaced.db"
    write_sqlite(spaced, events)
    with closing(sqlite3.connect(spaced)) as conn, conn:
        rows = conn.execute("SELECT event_id, context FROM convsdk_events").fetchall()
        conn.executemany(
            "UPDATE convsdk_events SET context = ? WHERE event_id = ?",
            [
                (json.dumps(json.loads(context), separators=(", ", ": ")), id_)
                for id_, context in rows
            ],
        )
        # The store really is spaced, touches and nulls alike.
        spaced_texts = [c for (c,) in conn.execute("SELECT context FROM convsdk_events")]
    assert any('"utm": {' in c for c in spaced_texts) and any(
        '"utm": null' in c for c in spaced_texts
    )
    assert _figures(f"sqlite:///{spaced}") == compact


def test_progress_is_reported_in_bytes_for_logs_and_queries_for_databases(
    tmp_path: Path,
) -> None:
    log = tmp_path / "events.jsonl"
    write_jsonl(log, scenario())
    calls: list[tuple[str, float, float]] = []
    load_report(log, progress=lambda *args: calls.append(args), engine="python")
    size = log.stat().st_size
    assert ("scanning", size, size) in calls and ("reading", size, size) in calls
    calls.clear()
    db = write_sqlite(tmp_path / "events.db", scenario())
    load_report(db, progress=lambda *args: calls.append(args))
    # Query by query, then the people as the report reads them: all done at the end.
    done = [call[1] for call in calls]
    assert done == sorted(done)
    assert calls[-1][0] == "reading people" and calls[-1][1] == calls[-1][2] > 6


def _two_devices() -> list[Event]:
    """frank lands on his phone from a Facebook ad, views pricing (his first exposure to
    the experiment, variant B), logs in and comes back to the blog from the newsletter;
    hours later he logs in on his laptop from a Bing ad (variant A) and buys there; after
    that, a TikTok ad brings him back on his phone: one person, who went through the
    funnel, and whose touches count up to his purchase, on both devices."""
    facebook = {"source": "facebook", "medium": "paid_social", "campaign": "spring"}
    mail = {"source": "newsletter", "medium": "email", "campaign": "frank-blog"}
    bing = {"source": "bing", "medium": "cpc", "campaign": "frank-laptop"}
    tiktok = {"source": "tiktok", "medium": "paid_social", "campaign": "frank-after"}
    return [
        make("page_view", 1000, "frank-phone", utm=facebook),
        make(
            "page_view",
            1010,
            "frank-phone",
            path="/pricing",
            kind="micro",
            goal="viewed_pricing",
            variant="B",
        ),
        make("identify", 1020, "frank-phone", user_id="u-frank"),
        make("page_view", 3000, "frank-phone", path="/blog", utm=mail, variant="B"),
        make("page_view", 5000, "frank-laptop", utm=bing, variant="A"),
        make("identify", 5010, "frank-laptop", user_id="u-frank"),
        make(
            "checkout",
            5100,
            "frank-laptop",
            path="/checkout",
            kind="macro",
            goal="purchase",
            value=99.0,
            currency="USD",
            user_id="u-frank",
        ),
        make("page_view", 6000, "frank-phone", utm=tiktok, variant="B", user_id="u-frank"),
    ]


def _credit(data: dict[str, Any], model: str) -> dict[str, float]:
    """The purchases a model credits to each campaign."""
    rows = data["attribution"]["models"][model]["campaign"]
    return {r["value"]: round(r["conversions"], 4) for r in rows}


def test_a_user_on_two_devices_is_one_person_in_every_store(
    tmp_path: Path, engine: str, postgres_table: tuple[str, Any]
) -> None:
    events = scenario() + _two_devices()
    url, write = postgres_table
    write(events)
    expected = _figures(write_sqlite(tmp_path / "events.db", events))
    log = write_jsonl(tmp_path / "e.jsonl", events, split=9)
    assert _figures(log, engine=engine) == expected
    assert _figures(url) == expected
    summary = expected["summary"]
    # alice, bob, carol, dave and frank (two visitor ids, one person).
    assert summary["visitors"] == 5
    assert (summary["merged_visitor_ids"], summary["merged_people"]) == (2, 1)
    assert summary["converters"] == 3
    # frank viewed pricing on his phone and bought on his laptop: one funnel.
    (funnel,) = expected["funnels"]
    assert [s["visitors"] for s in funnel["steps"]] == [4, 3]
    goals = {g["goal"]: g for g in expected["goals"]}
    # From his phone's first page view to his purchase on the laptop: 4,100 s.
    assert goals["purchase"]["time_to_convert"]["count"] == 3
    first = {r["value"]: r for r in expected["breakdowns"]["first_touch"]["source"]}
    # His touches up to the purchase, on both devices: the phone's Facebook ad first, the
    # laptop's Bing ad last; the TikTok ad after the purchase gets no credit.
    assert first["facebook"]["revenue"] == {"USD": 99.0}  # the phone's ad touch
    last = {r["value"]: r for r in expected["breakdowns"]["last_touch"]["source"]}
    assert last["bing"]["revenue"] == {"USD": 99.0}
    assert "tiktok" not in last
    # His path: the phone's landing and newsletter visit, then the laptop's ad.
    assert _credit(expected, "linear") == {
        "(none)": 2.0,
        "brand": 1.0,
        "spring": 0.3333,
        "frank-blog": 0.3333,
        "frank-laptop": 0.3333,
    }
    variants = {r["value"]: r["visitors"] for r in expected["breakdowns"]["variant"]["rows"]}
    # alice, and frank: his first exposure was on his phone (B), before the laptop (A).
    assert variants == {"A": 2, "B": 2, "(none)": 1}
    report = load_report(write_sqlite(tmp_path / "t.db", events), GOALS, since=T0)
    assert "2 visitor ids merged into 1 person" in render_text(report)
    assert "2 visitor ids merged into 1 person" in render_html(report)


def test_a_persons_touches_interleave_across_devices_in_every_store(
    tmp_path: Path, engine: str, postgres_table: tuple[str, Any]
) -> None:
    # gina opens the shop on her laptop first (direct), then a Pinterest ad on her phone,
    # then a Bing ad on the laptop, where she buys; a TikTok ad on the phone comes after.
    buy = {"kind": "macro", "goal": "purchase", "value": 20.0, "currency": "USD"}
    events = [
        make("page_view", 2000, "gina-laptop", user_id="u-gina"),
        make("page_view", 2100, "gina-phone", utm={"source": "pinterest"}, user_id="u-gina"),
        make("page_view", 2200, "gina-laptop", utm={"source": "bing"}),
        make("checkout", 2300, "gina-laptop", path="/checkout", **buy),
        make("page_view", 2400, "gina-phone", utm={"source": "tiktok"}),
    ]
    url, write = postgres_table
    write(events)
    expected = _figures(write_sqlite(tmp_path / "events.db", events))
    assert _figures(write_jsonl(tmp_path / "e.jsonl", events, split=2), engine=engine) == expected
    assert _figures(url) == expected
    assert expected["summary"]["visitors"] == 1
    # Her first touch is the phone's, her last before buying the laptop's, though the
    # laptop was seen first and the phone last.
    assert _touch_rows(expected, "first_touch") == {"pinterest": (1, 1)}
    assert _touch_rows(expected, "last_touch") == {"bing": (1, 1)}
    # Her path: the laptop's direct landing, the phone's ad, the laptop's ad.
    assert _credit(expected, "first") == {"(none)": 1.0}
    rows = expected["attribution"]["models"]["linear"]["source_medium"]
    assert {r["value"]: round(r["conversions"], 4) for r in rows} == {
        "(direct) / (none)": 0.3333,
        "pinterest / (not set)": 0.3333,
        "bing / (not set)": 0.3333,
    }


def test_times_keep_their_microseconds_in_every_store(
    tmp_path: Path, engine: str, postgres_table: tuple[str, Any]
) -> None:
    """Times within one second are told apart to the microsecond in every store, and
    through its rollups: which of two touches came first (the later one has the smaller
    event id, which would win a tie), and how long a visitor took to convert."""
    google = {"source": "google", "medium": "cpc", "campaign": "brand"}
    mail = {"source": "newsletter", "medium": "email", "campaign": "weekly"}
    buy = {"path": "/checkout", "kind": "macro", "goal": "purchase", "value": 10.0}
    pricing = {"path": "/pricing", "kind": "micro", "goal": "viewed_pricing"}
    events = [
        make("page_view", 10.7, "mia", utm=mail, event_id=event_id(900_001)),
        make("page_view", 10.3, "mia", utm=google, event_id=event_id(900_002)),
        make("page_view", 11.000_001, "mia", **pricing, event_id=event_id(900_003)),
        make("checkout", 12.345_678, "mia", **buy, currency="USD", event_id=event_id(900_004)),
        make("page_view", 20.5, "ned", **pricing, event_id=event_id(900_005)),
        make("checkout", 21.25, "ned", **buy, currency="USD", event_id=event_id(900_006)),
    ]
    url, write = postgres_table
    write(events)
    database = write_sqlite(tmp_path / "events.db", events)
    expected = _figures(database)
    assert _touch_rows(expected, "first_touch") == {"google": (1, 1), "(none)": (1, 1)}
    assert _touch_rows(expected, "last_touch") == {"newsletter": (1, 1), "(none)": (1, 1)}
    # mia: 10.3 s -> 12.345678 s; ned: 20.5 s -> 21.25 s.
    assert expected["time_to_convert"]["timing"]["median"] == 1.397839
    # The funnel's step: mia 11.000001 s -> 12.345678 s, ned 20.5 s -> 21.25 s.
    assert expected["funnels"][0]["steps"][1]["time_from_previous"]["p90"] == 1.286109
    assert _figures(write_jsonl(tmp_path / "e.jsonl", events), engine=engine) == expected
    assert _figures(url) == expected
    # The whole days (no time range): read from the rollups' states, not the events.
    for store in (database, url):
        roll_up(store)
        whole = [load_report(store, GOALS, rollups=r).to_dict() for r in (True, False)]
        for figures in whole:
            del figures["meta"]
        assert whole[0] == whole[1]
        assert whole[0]["time_to_convert"]["timing"]["median"] == 1.397839


def test_a_log_reader_keeps_once_what_visitors_share(tmp_path: Path) -> None:
    """Each line of a log makes its values anew; the streaming reader keeps one copy of
    those its visitors share (a user agent, landing URL, UTM parameters, goal names),
    so its memory grows with the visitors, not with the size of their events; the
    people are read one at a time, each state let go once read."""
    agent = "Mozilla/5.0 (X11; Linux x86_64) " + "Gecko/20100101 " * 64  # 1,000 characters
    utm = {"source": "newsletter", "medium": "email", "campaign": "c" * 250}
    events = []
    for n in range(3000):
        view = make("page_view", n, f"v{n}", utm=utm, referrer="https://mail.example/")
        view.context["user_agent"] = agent
        events.append(view)
    write_jsonl(tmp_path / "e.jsonl", events)
    tracemalloc.start()
    try:
        dataset = FileReader(tmp_path / "e.jsonl").read()
        people = sum(1 for _ in dataset.visitors)
        _, held = tracemalloc.get_traced_memory()  # the peak
    finally:
        tracemalloc.stop()
    assert people == 3000
    # The peak while the log is read and its people counted (the lines of a block of the
    # file included), measured: 15.5 MB with a copy of those values a visitor and every
    # summary held at once, 11.0 MB with one copy for all and the people streamed.
    assert held < 13_000_000, held


def test_values_alike_but_of_other_types_are_not_taken_for_each_other(
    tmp_path: Path, engine: str, postgres_table: tuple[str, Any]
) -> None:
    """1, 1.0 and true are equal in Python, and SQLite's json_extract gives true as 1;
    yet every store tells a variant or a UTM source of each apart (and the log reader,
    which keeps once the values its visitors share, keeps each visitor's own)."""
    events = []
    for n, source in enumerate([1, True, "1", 1.0, "1"]):
        arrival = make("page_view", n, f"v{n}", referrer=f"https://ads{n % 2}.example/")
        arrival.context["utm"] = {"source": source, "medium": "cpc"}
        arrival.context["variant"] = source
        events.append(arrival)
        buy = {"path": "/checkout", "kind": "macro", "goal": "purchase", "value": 1.0}
        events.append(make("checkout", n + 10, f"v{n}", **buy, currency="USD"))
    url, write = postgres_table
    write(events)
    expected = _figures(write_sqlite(tmp_path / "events.db", events))
    sources = {r["value"]: r["visitors"] for r in expected["breakdowns"]["first_touch"]["source"]}
    assert sources == {"1": 3, "True": 1, "1.0": 1}
    variants = {r["value"]: r["visitors"] for r in expected["breakdowns"]["variant"]["rows"]}
    assert variants == {"1": 3, "true": 1, "1.0": 1}
    assert _figures(write_jsonl(tmp_path / "e.jsonl", events), engine=engine) == expected
    assert _figures(url) == expected
