"""Rollups: a report read through them is the report read from the events, to the digit.

Each test compares ``load_report(..., rollups=True)`` with ``rollups=False`` on the
same store, after ``convsdk rollup``, and checks that the rollups were read. The tests
of what every store does run on SQLite and on the PostgreSQL server (a table of the
test's own, written by the PostgreSQL backend); what is particular to a store
(how a rewritten table is noticed, transactions that commit late) is tested on it.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from convsdk import ConfigError
from convsdk.cli import main
from convsdk.event import Event
from convsdk.goals import Funnel, Goal, GoalSet
from convsdk.report import load_report
from convsdk.report.rollup import roll_up

from .conftest import (
    GOALS,
    T0,
    Store,
    add_sqlite,
    make,
    scenario,
    write_sqlite,
)

GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
DAY = 86_400

# A funnel of three steps, one of them a goal without a transaction id, so that step
# times come from both kinds of conversion.
STEPS = GoalSet(
    [
        Goal.micro("viewed_pricing", event="page_view", path="/pricing"),
        Goal.micro("newsletter", event="form_submit", path="/newsletter"),
        Goal.macro("purchase", event="checkout", path="/checkout*"),
        Goal.macro("renewal", event="renewal"),
    ],
    [
        Funnel("buy", ["viewed_pricing", "purchase"], window="3d"),
        Funnel("stay", ["newsletter", "purchase", "renewal"], window="30d"),
    ],
)


def buy(
    seconds: float, visitor: str | None, order: str | None, value: float, **extra: Any
) -> Event:
    fields = {"kind": "macro", "goal": "purchase", "value": value, "currency": "USD"}
    return make(
        "checkout", seconds, visitor, path="/checkout", transaction_id=order, **fields | extra
    )


def _two_devices() -> list[Event]:
    """hana browses on her phone (a Facebook ad, pricing, then logs in), buys on her
    laptop the next day after a Bing ad, and a TikTok ad brings her phone back after."""
    return [
        make("page_view", 3600, "hana-phone", utm={"source": "facebook", "medium": "paid_social"}),
        make("page_view", 3610, "hana-phone", path="/pricing", kind="micro", goal="viewed_pricing",
             variant="B"),
        make("identify", 3620, "hana-phone", user_id="u-hana"),
        make("page_view", DAY + 100, "hana-laptop", utm={"source": "bing", "medium": "cpc"},
             variant="A"),
        make("identify", DAY + 110, "hana-laptop", user_id="u-hana"),
        buy(DAY + 200, "hana-laptop", "H1", 99.0, user_id="u-hana"),
        make("page_view", DAY + 900, "hana-phone", utm={"source": "tiktok"}, user_id="u-hana"),
    ]  # fmt: skip


def _orders() -> list[Event]:
    """Transactions sent again on other days, by other visitors, and anonymously; one
    first recorded as micro (its replay, macro, does not count, nor does its kind)."""
    return [
        buy(2 * DAY + 50, "ivan", "R1", 40.0),
        buy(3 * DAY + 60, "ivan", "R1", 40.0),  # the thank-you page, a day later
        buy(2 * DAY + 70, "jo", "R1", 41.0),  # another visitor, later: does not count
        buy(DAY + 10, None, "R2", 12.0),  # anonymous first
        buy(2 * DAY + 10, "jo", "R2", 12.0),
        make("checkout", 4 * DAY, "kim", path="/checkout", kind="micro", goal="gift",
             transaction_id="G1"),
        make("checkout", 4 * DAY + 5, "kim", path="/checkout", kind="macro", goal="gift",
             transaction_id="G1"),
        make("newsletter", DAY + 5, "jo", path="/newsletter", kind="micro", goal="newsletter"),
        make("renewal", 20 * DAY, "jo", kind="macro", goal="renewal", value=5.0,
             currency="EUR"),
    ]  # fmt: skip


def _others() -> list[Event]:
    """A crawler, server-side renewals of two users, and a visitor whose every event
    carries a variant but the first."""
    crawler = [
        make("page_view", 5, "crawler", path="/pricing", kind="micro", goal="viewed_pricing"),
        buy(6, "crawler", "C1", 1.0),
    ]
    for event in crawler:
        event.context["user_agent"] = GOOGLEBOT
    renewals = [
        Event("renewal", kind="macro", goal="renewal", value=9.0, currency="USD", user_id=user,
              timestamp=T0 + timedelta(seconds=DAY + n))
        for n, user in enumerate(["u-1", "u-1", "u-2", None])
    ]  # fmt: skip
    late = [
        make("page_view", 2 * DAY + 1, "lea", referrer="https://news.example/"),
        make("page_view", 2 * DAY + 2, "lea", variant="B", path="/pricing", kind="micro",
             goal="viewed_pricing"),
        buy(2 * DAY + 3, "lea", None, 15.0, variant="B"),
        buy(2 * DAY + 4, "lea", None, 16.0, currency=None, variant="B"),
    ]  # fmt: skip
    clicks = [  # ad click ids, one behind a referrer of the site itself
        make("page_view", DAY + 300, "ola", path="/?msclkid=m1", referrer="https://shop.example/"),
        make("page_view", DAY + 310, "ola", path="/?gclid=g1"),
        buy(DAY + 400, "ola", "O1", 8.0),
    ]
    flags = [make("page_view", DAY + 500, "pia"), make("page_view", DAY + 510, "pia")]
    flags.append(make("page_view", DAY + 520, "quinn"))
    flags[1].context["variant"] = True  # variants that are not text
    flags[2].context["variant"] = {"arm": 2}
    return crawler + renewals + late + clicks + flags


def events_of_days() -> list[Event]:
    return scenario() + _two_devices() + _orders() + _others()


def _figures(url: str, goals: GoalSet = GOALS, **kwargs: Any) -> dict[str, Any]:
    """The report as JSON, without ``meta``."""
    data: dict[str, Any] = json.loads(load_report(url, goals, **kwargs).to_json())
    del data["meta"]
    return data


def _same(url: str, caplog: pytest.LogCaptureFixture, **kwargs: Any) -> dict[str, Any]:
    """The report through the rollups, checked against the events' and to read them."""
    expected = _figures(url, rollups=False, **kwargs)
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="convsdk.report"):
        found = _figures(url, **kwargs)
    assert "read from rollups" in caplog.text, caplog.text
    assert found == expected
    return found


RANGES = [
    {},
    {"since": T0},
    {"since": "2026-11-02", "until": "2026-11-04"},  # whole days
    {"since": T0 + timedelta(seconds=30), "until": T0 + timedelta(days=2, seconds=5)},
    {"since": T0 - timedelta(hours=30), "until": T0 + timedelta(hours=3)},
    {"since": T0 + timedelta(seconds=100), "until": T0 + timedelta(seconds=700)},  # in a day
    {"until": T0 + timedelta(days=3, hours=1)},
]


@pytest.mark.parametrize("window", RANGES, ids=[str(i) for i in range(len(RANGES))])
def test_the_report_through_rollups_is_the_report_of_the_events(
    store: Callable[..., Store], caplog: pytest.LogCaptureFixture, window: dict[str, Any]
) -> None:
    url = store(events_of_days()).url
    roll_up(url)
    _same(url, caplog, **window)
    _same(url, caplog, goals=STEPS, **window)


def test_every_option_reads_the_same(
    store: Callable[..., Store], caplog: pytest.LogCaptureFixture
) -> None:
    url = store(events_of_days()).url
    roll_up(url)
    data = _same(url, caplog, include_bots=True)
    assert data["summary"]["bot_visitors"] == 0
    data = _same(
        url,
        caplog,
        goals=STEPS,
        since="2026-11-03",
        until="2026-11-06",
        compare="previous",
        interval="day",
        by="channel",
    )
    assert data["comparison"] is not None


def test_what_the_rollups_read_is_told_as_the_events_tell_it(
    store: Callable[..., Store], caplog: pytest.LogCaptureFixture
) -> None:
    url = store(events_of_days()).url
    roll_up(url)
    data = _same(url, caplog, goals=STEPS, since=T0 - timedelta(days=1))
    summary = data["summary"]
    assert summary["bot_visitors"] == 1
    assert (summary["merged_visitor_ids"], summary["merged_people"]) == (2, 1)
    assert summary["anonymous"]["server_side_users"] == 2
    goals = {g["goal"]: g for g in data["goals"]}
    # R1 counts once (ivan's first), R2 once (anonymous), gift G1 once, as micro.
    assert goals["purchase"]["anonymous_conversions"] == 2  # T3 and R2
    assert goals["gift"]["kind"] == "micro"
    last = {r["value"] for r in data["breakdowns"]["last_touch"]["source"]}
    assert "tiktok" not in last and "bing" in last


def test_late_and_replayed_events_are_read_before_and_after_the_next_rollup(
    store: Callable[..., Store], caplog: pytest.LogCaptureFixture
) -> None:
    events = store(events_of_days())
    url = events.url
    roll_up(url)
    later = [
        # new events, today and on days already rolled up (a spool replayed late)
        make("page_view", 5 * DAY, "mia", utm={"source": "google", "medium": "cpc"}),
        buy(5 * DAY + 60, "mia", "M1", 70.0),
        make("page_view", -5, "bob", utm={"source": "newsletter", "medium": "email"}),
        buy(2 * DAY + 40, "jo", "R1", 41.0),  # R1 again, before ivan's: now jo's counts
        buy(400, None, "T2", 20.0, currency="EUR"),  # bob's order, replayed: before his
        make("page_view", 30, "dave", user_id="u-dave"),  # dave's first event moves back
        make("identify", 3 * DAY, "carol", user_id="u-hana"),  # carol is hana now
        make("page_view", 2 * DAY + 6, "lea", variant="A"),  # late, after her first variant
        make("page_view", DAY + 1, "lea", variant="C"),  # late, her first variant now
    ]
    events.add(later)
    ranges = [{}, {"since": T0 + timedelta(seconds=20), "until": T0 + timedelta(days=3, hours=2)}]
    for window in ranges:
        _same(url, caplog, goals=STEPS, **window)
    done = roll_up(url)
    assert (done.events, done.rebuilt) == (len(later), None)
    for window in ranges:
        data = _same(url, caplog, goals=STEPS, **window)
    assert data["summary"]["merged_people"] == 1
    assert roll_up(url).events == 0
    assert roll_up(url, rebuild=True).rebuilt == "asked"
    for window in ranges:
        _same(url, caplog, goals=STEPS, **window)


def test_a_rewritten_table_is_read_from_its_events_until_rolled_up_again(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    url = write_sqlite(tmp_path / "events.db", events_of_days())
    roll_up(url)
    conn = sqlite3.connect(url.removeprefix("sqlite:///"))
    # The table restored from a copy, less a visitor: its rows are numbered afresh.
    conn.execute(
        "CREATE TABLE copy AS SELECT * FROM convsdk_events "
        "WHERE visitor_id IS NOT 'alice' ORDER BY event_id DESC"
    )
    conn.execute("DROP TABLE convsdk_events")
    conn.execute("ALTER TABLE copy RENAME TO convsdk_events")
    conn.commit()
    conn.close()
    expected = _figures(url, rollups=False)
    with caplog.at_level(logging.INFO, logger="convsdk.report"):
        assert _figures(url) == expected
    assert "rollups not used: the events table was rewritten" in caplog.text
    assert roll_up(url).rebuilt is not None
    assert _same(url, caplog) == expected


def test_erasing_the_last_events_rolled_up_is_noticed(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    url = write_sqlite(tmp_path / "events.db", events_of_days())
    roll_up(url)
    conn = sqlite3.connect(url.removeprefix("sqlite:///"))
    conn.execute(  # the visitor stored last
        "DELETE FROM convsdk_events WHERE visitor_id = "
        "(SELECT visitor_id FROM convsdk_events ORDER BY rowid DESC LIMIT 1)"
    )
    conn.commit()
    conn.close()
    add_sqlite(url, [make("page_view", 7 * DAY, "nick")])  # may take the last rowid again
    expected = _figures(url, rollups=False)
    with caplog.at_level(logging.INFO, logger="convsdk.report"):
        assert _figures(url) == expected
    assert "rollups not used" in caplog.text
    assert roll_up(url).rebuilt is not None
    _same(url, caplog)


def test_a_deletion_is_taken_out_by_a_rebuild(
    store: Callable[..., Store], caplog: pytest.LogCaptureFixture
) -> None:
    events = store(events_of_days())
    url = events.url
    roll_up(url)
    events.sql("DELETE FROM {t} WHERE visitor_id = 'jo'")
    roll_up(url, rebuild=True)
    data = _same(url, caplog)
    assert "jo" not in json.dumps(data)  # nothing of hers left


def test_rollups_are_kept_for_the_table_they_were_made_of(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    url = write_sqlite(tmp_path / "events.db", events_of_days())
    conn = sqlite3.connect(url.removeprefix("sqlite:///"))
    conn.execute("CREATE TABLE shop_events AS SELECT * FROM convsdk_events WHERE visitor_id = 'jo'")
    conn.close()
    roll_up(f"{url}?table=shop_events")
    _same(f"{url}?table=shop_events", caplog)
    with caplog.at_level(logging.INFO, logger="convsdk.report"):
        assert _figures(url) == _figures(url, rollups=False)
    assert "rollups not used: they are of the table shop_events" in caplog.text
    with pytest.raises(ConfigError, match="rollups of shop_events: --rebuild"):
        roll_up(url)
    roll_up(url, rebuild=True)
    _same(url, caplog)


def test_rollups_far_behind_the_events_are_left_aside(
    store: Callable[..., Store], caplog: pytest.LogCaptureFixture
) -> None:
    events = store(scenario()[:4])
    url = events.url
    roll_up(url)
    events.add(events_of_days())
    with caplog.at_level(logging.INFO, logger="convsdk.report"):
        assert _figures(url) == _figures(url, rollups=False)
    assert "more events came after them" in caplog.text


def test_the_rollup_command_says_what_it_did(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = write_sqlite(tmp_path / "events.db", events_of_days())
    path = url.removeprefix("sqlite:///")
    assert main(["rollup", path]) == 0
    out = capsys.readouterr().out
    assert (
        f"rolled up {len(events_of_days())} events into " in out
        and " visitor-days over 7 days" in out
    )
    assert main(["rollup", url, "--rebuild"]) == 0
    assert main(["report", path, "--no-rollups", "--format", "json"]) == 0
    capsys.readouterr()
    assert main(["rollup", path, "--rebiuld"]) == 2
    assert "unrecognized arguments: --rebiuld" in capsys.readouterr().err
    assert main(["rollup", str(tmp_path / "events.jsonl")]) == 2
    assert "rollups are kept for SQLite and PostgreSQL stores" in capsys.readouterr().err
    assert main(["rollup", str(tmp_path / "missing.db")]) == 2
    assert "no SQLite database" in capsys.readouterr().err
