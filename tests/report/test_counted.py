"""A report kept counted beside the rollups: recounted to the digit as the store grows.

``convsdk rollup --goals`` keeps a report's counts; the same report then starts from them
and recounts the people the newer events change. Every test compares it with the report
read from the events (``rollups=False``), on SQLite and on the PostgreSQL server, after
the kinds of events that change people the counts hold: late events of known visitors,
orders sent again earlier than the one counted, links that join two people, bots.
"""

from __future__ import annotations

import json
import logging
import marshal
import os
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from convsdk import ConfigError
from convsdk.cli import main
from convsdk.event import Event
from convsdk.goals import GoalSet
from convsdk.privacy.bots import rules_id
from convsdk.report import load_report, rules
from convsdk.report.reader import open_reader
from convsdk.report.rollup import KeptReport, roll_up
from convsdk.report.rollup import counted as kept_counts
from convsdk.report.rollup.counted import Kept
from convsdk.report.rollup.through import ThroughRollups

from .conftest import T0, Store, make
from .test_rollup import GOOGLEBOT, STEPS, buy, events_of_days

DAY = 86_400
#: The random tests' seeds (``CONVSDK_TEST_SEEDS=1,2,3`` runs more).
SEEDS = os.environ.get("CONVSDK_TEST_SEEDS", "1")
COUNTED = "counted from the counts kept"
# A report's options, as load_report and KeptReport take them.
OPTIONS: list[dict[str, Any]] = [
    {},
    {"interval": "day", "by": "channel"},
    {"experiment_goal": "purchase", "include_bots": True, "interval": "week"},
    {"interval": "day", "timezone": "America/New_York"},
]


def _figures(url: str, goals: GoalSet | None = STEPS, **options: Any) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(load_report(url, goals, **options).to_json())
    del data["meta"]
    return data


def _report(
    url: str, caplog: pytest.LogCaptureFixture, goals: GoalSet | None = STEPS, **options: Any
) -> tuple[bool, dict[str, Any]]:
    """Whether the report was counted from kept counts, and it; checked against the
    report of the events."""
    expected = _figures(url, goals, rollups=False, **options)
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="convsdk.report"):
        found = _figures(url, goals, **options)
    assert found == expected
    return COUNTED in caplog.text, found


def _more() -> list[Event]:
    """Events stored after the counts were kept, most with times of days counted."""
    hana = make("page_view", DAY + 5000, "hana-laptop", path="/pricing", kind="micro",
                goal="viewed_pricing")  # fmt: skip
    late = [
        hana,
        make("page_view", 2 * DAY + 30, "ivan", utm={"source": "bing", "medium": "cpc"}),
        buy(2 * DAY + 40, "ivan", "R9", 30.0),
        # Order R1 sent again, earlier than ivan's: it now counts, his no longer does.
        buy(2 * DAY + 20, "new-1", "R1", 40.0),
        # jo and kim log in as one user: two people become one.
        make("identify", 3 * DAY, "jo", user_id="u-jk"),
        make("identify", 4 * DAY + 10, "kim", user_id="u-jk"),
        # An anonymous order, earlier than ola's O1.
        buy(DAY + 390, None, "O1", 8.0),
        make("page_view", 5 * DAY, "new-2", referrer="https://news.example/", variant="B"),
        buy(5 * DAY + 50, "new-2", "N2", 70.0, variant="B"),
        make("renewal", 6 * DAY, "new-2", kind="macro", goal="renewal", value=5.0,
             currency="EUR"),
        make("page_view", 2 * DAY + 100, "crawler", path="/pricing"),
        make("page_view", 2 * DAY + 200, "crawler-2", path="/pricing"),
    ]  # fmt: skip
    for bot in late[-2:]:
        bot.context["user_agent"] = GOOGLEBOT
    return late


def _counts(s: Store) -> str:
    """The store's table of counts."""
    return "convsdk_rollup_counts" if s.url.startswith("sqlite") else f'"{s.table}_rollup_counts"'


@pytest.mark.parametrize(
    "options", OPTIONS, ids=["plain", "day by channel", "bots, weekly", "days in New York"]
)
def test_a_kept_report_is_recounted_to_the_digit(
    store: Callable[..., Store], caplog: pytest.LogCaptureFixture, options: dict[str, Any]
) -> None:
    s = store(events_of_days())
    roll_up(s.url, keep=KeptReport(STEPS, **options))
    assert _report(s.url, caplog, **options)[0]
    s.add(_more())
    counted, figures = _report(s.url, caplog, **options)
    assert counted
    assert figures["summary"]["merged_people"] >= 2  # hana's devices, jo and kim
    # Every report kept is counted again as the rollups go further.
    roll_up(s.url)
    assert _report(s.url, caplog, **options) == (True, figures)
    # Counts of other rollups (made by another run meanwhile) are left aside.
    s.sql(f"UPDATE {_counts(s)} SET watermark = 'elsewhere'")
    assert _report(s.url, caplog, **options) == (False, figures)
    roll_up(s.url)
    assert _report(s.url, caplog, **options) == (True, figures)
    s.add([make("page_view", 7 * DAY, "new-3"), buy(7 * DAY + 9, "new-3", "R1", 40.0)])
    assert _report(s.url, caplog, **options)[0]


def test_only_the_same_report_reads_the_counts(
    store: Callable[..., Store], caplog: pytest.LogCaptureFixture
) -> None:
    s = store(events_of_days())
    roll_up(s.url, keep=KeptReport(STEPS, interval="day"))
    assert _report(s.url, caplog, interval="day")[0]
    assert not _report(s.url, caplog)[0]
    assert not _report(s.url, caplog, interval="week")[0]
    assert not _report(s.url, caplog, None, interval="day")[0]
    assert not _report(s.url, caplog, interval="day", include_bots=True)[0]
    assert not _report(s.url, caplog, interval="day", since=T0)[0]
    assert not _report(s.url, caplog, interval="day", timezone="Asia/Tokyo")[0]
    assert _report(s.url, caplog, interval="day", timezone="UTC")[0]  # the same report
    # Another report kept counted instead: the first is forgotten.
    roll_up(s.url, keep=KeptReport(STEPS))
    assert _report(s.url, caplog)[0]
    assert not _report(s.url, caplog, interval="day")[0]


def test_a_goal_whose_kind_changed_is_counted_again(
    store: Callable[..., Store], caplog: pytest.LogCaptureFixture
) -> None:
    s = store(events_of_days())
    goals = GoalSet(STEPS.goals[:3])  # renewal not in the file: its kind is the events'
    roll_up(s.url, keep=KeptReport(goals))
    assert _report(s.url, caplog, goals)[0]
    s.add([make("renewal", 3 * DAY, "ivan", kind="micro", goal="newsletter_2")])
    assert _report(s.url, caplog, goals)[0]  # a new micro goal: only ivan has it
    # A later event calls it macro: every visitor's lift on it changes.
    s.add([make("form_submit", 8 * DAY, "lea", kind="macro", goal="newsletter_2")])
    assert not _report(s.url, caplog, goals)[0]
    roll_up(s.url)
    assert _report(s.url, caplog, goals)[0]
    s.add([make("form_submit", 9 * DAY, "lea", kind="macro", goal="newsletter_3")])
    assert not _report(s.url, caplog, goals)[0]  # a new macro goal


def test_counts_that_do_not_add_up_are_told_and_left_aside(
    store: Callable[..., Store], caplog: pytest.LogCaptureFixture
) -> None:
    s = store(events_of_days())
    roll_up(s.url, keep=KeptReport(STEPS))
    sqlite, counts = s.url.startswith("sqlite"), _counts(s)

    def stored(blob: bytes) -> str:
        return f"X'{blob.hex()}'" if sqlite else f"'\\x{blob.hex()}'::bytea"

    s.sql(f"UPDATE {counts} SET state = {stored(b'not counts')}")
    assert not _report(s.url, caplog)[0]
    assert "kept counts not used (unreadable counts" in caplog.text
    # Counts of nobody, where the rollups hold everyone: taking away the people a new
    # event changes finds nothing to take away.
    s.sql(f"UPDATE {counts} SET state = {stored(Kept({}, 0, (0, 0)).encode())}")
    s.add([buy(2 * DAY + 40, "ivan", "R9", 30.0)])
    assert not _report(s.url, caplog)[0]
    assert "kept counts not used (" in caplog.text


def test_a_run_that_rolls_nothing_up_carries_the_counts(
    store: Callable[..., Store], caplog: pytest.LogCaptureFixture
) -> None:
    s = store(events_of_days())
    roll_up(s.url, keep=KeptReport(STEPS))
    expected = _figures(s.url, rollups=False)
    # A mark in the kept counts: a run that counted them again would lose it.
    marked = Kept.decode(_kept_blob(s.url))
    marked.bots += 1000
    blob = marked.encode()
    sqlite = s.url.startswith("sqlite")
    stored = f"X'{blob.hex()}'" if sqlite else f"'\\x{blob.hex()}'::bytea"
    s.sql(f"UPDATE {_counts(s)} SET state = {stored}")
    assert roll_up(s.url).events == 0
    assert roll_up(s.url, keep=KeptReport(STEPS)).events == 0
    found = _figures(s.url)  # from the counts carried over
    assert found["summary"]["bot_visitors"] == expected["summary"]["bot_visitors"] + 1000
    s.add([make("page_view", 7 * DAY, "new-3")])
    assert roll_up(s.url).events == 1  # counted again: the mark is gone
    assert _report(s.url, caplog)[0]


def _kept_blob(url: str) -> bytes:
    """The bytes of the counts kept of the report of :data:`STEPS`."""
    reader = open_reader(url, rollups=True)
    assert isinstance(reader, ThroughRollups)
    opened = reader.open_rollups()
    assert opened is not None
    source = opened[0]
    try:
        found = source.kept(KeptReport(STEPS).key())
        assert found is not None
        return found[2]
    finally:
        source.close()


def test_the_verdicts_on_user_agents_are_kept_with_the_counts(
    store: Callable[..., Store], caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The user agents the counts were made with are kept with their verdicts, under the
    bot rules in use: a report of new events from known user agents asks crawlerdetect
    nothing (its patterns take tens of milliseconds to compile), a new user agent is
    asked. Counts made under other bot rules are not read: their people were left out by
    other verdicts."""
    s = store(events_of_days())
    roll_up(s.url, keep=KeptReport(STEPS))
    kept = Kept.decode(_kept_blob(s.url))
    assert kept.rules == rules_id()
    assert kept.agents == {"Mozilla/5.0": False, GOOGLEBOT: True}
    newcomer = "Mozilla/5.0 (compatible; NewcomerBot/1.0)"
    late = [make("page_view", 2 * DAY + 300, "new-7"), make("page_view", 3 * DAY, "bot-7")]
    late[1].context["user_agent"] = GOOGLEBOT
    s.add(late)
    asked: list[str] = []
    check = rules.is_bot

    def counted_report(expected_asks: list[str] | None) -> None:
        expected = _figures(s.url, rollups=False)
        asked.clear()
        monkeypatch.setattr(rules, "is_bot", lambda agent: asked.append(agent) or check(agent))
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="convsdk.report"):
            assert _figures(s.url) == expected
        monkeypatch.setattr(rules, "is_bot", check)
        assert (COUNTED in caplog.text) == (expected_asks is not None)
        if expected_asks is not None:
            assert sorted(asked) == sorted(expected_asks)

    counted_report([])
    stranger = make("page_view", 4 * DAY, "new-8")
    stranger.context["user_agent"] = newcomer
    s.add([stranger])
    counted_report([newcomer])
    # Under other bot rules (crawlerdetect upgraded), the rollups are read instead.
    monkeypatch.setattr(kept_counts, "rules_id", lambda: "other rules")
    counted_report(None)


def test_counts_kept_without_verdicts_are_read() -> None:
    """Counts kept by an earlier version hold no verdicts: none are known."""
    blob = Kept({}, 2, (3, 1), {"Mozilla/5.0": False}, "some rules").encode()
    data = marshal.loads(blob)
    del data["agents"], data["rules"]
    old = Kept.decode(marshal.dumps(data, 4))
    assert (old.bots, old.merged, old.agents, old.rules) == (2, (3, 1), {}, "")
    assert Kept.decode(blob).agents == {"Mozilla/5.0": False}


def test_a_kept_report_that_cannot_be_counted_again_is_told_and_left(
    store: Callable[..., Store], caplog: pytest.LogCaptureFixture
) -> None:
    s = store(events_of_days())
    with pytest.raises(ConfigError, match="no goal 'gift_card'"):
        roll_up(s.url, keep=KeptReport(STEPS, experiment_goal="gift_card"))
    roll_up(s.url, keep=KeptReport(STEPS))
    # A definition this version cannot read: left, told, not read.
    s.sql(f"UPDATE {_counts(s)} SET definition = 'a later version''s'")
    s.add([make("page_view", 7 * DAY, "new-3")])
    with caplog.at_level(logging.WARNING, logger="convsdk.report"):
        roll_up(s.url)
    assert "a kept report is not counted again: an unreadable definition" in caplog.text
    assert not _report(s.url, caplog)[0]


def test_the_rollup_command_keeps_a_report_counted(
    tmp_path: Path,
    store: Callable[..., Store],
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    s = store(events_of_days())
    goals = tmp_path / "goals.toml"
    goals.write_text(
        "\n".join(
            [
                *(
                    f'[[goals]]\nname = "{g.name}"\nkind = "{g.kind}"\nevent = "{g.event}"'
                    for g in STEPS.goals
                ),
                *(
                    f'[[funnels]]\nname = "{f.name}"\nsteps = {json.dumps(list(f.steps))}\n'
                    f'window = "{int(f.window.total_seconds())}s"'
                    for f in STEPS.funnels
                ),
            ]
        )
    )
    assert main(["rollup", s.url, "--goals", str(goals), "--interval", "day"]) == 0
    assert f"kept the counts of the report of {goals}" in capsys.readouterr().out
    assert _report(s.url, caplog, interval="day")[0]
    assert main(["rollup", s.url, "--interval", "day"]) == 2
    assert "give its --goals too" in capsys.readouterr().err
    # A report whose days are New York's is kept as one of its own.
    new_york = ["--interval", "day", "--tz", "America/New_York"]
    assert main(["rollup", s.url, "--goals", str(goals), *new_york]) == 0
    assert _report(s.url, caplog, interval="day", timezone="America/New_York")[0]
    assert main(["rollup", s.url, "--tz", "America/New_York"]) == 2
    assert "give its --goals too" in capsys.readouterr().err
    assert main(["rollup", s.url, "--goals", str(goals), "--tz", "America/NewYork"]) == 2
    assert "did you mean 'America/New_York'" in capsys.readouterr().err


def _random_events(
    rng: random.Random, visitors: list[str], start: float, count: int
) -> list[Event]:
    """``count`` events of ``visitors`` (and new ones) at times from ``start`` on, most
    of them late: visits, micro and macro conversions, orders whose ids repeat, logins
    that link visitors, a known bot."""
    found = []
    for _ in range(count):
        visitor = rng.choice(visitors) if rng.random() < 0.7 else f"r-{rng.randrange(10**6)}"
        at = start + rng.uniform(-6 * DAY, DAY)
        roll = rng.random()
        if roll < 0.3:
            source = rng.choice([None, "google", "bing", "news"])
            utm = None if source is None else {"source": source, "medium": "cpc"}
            found.append(
                make("page_view", at, visitor, utm=utm, variant=rng.choice([None, "A", "B"]))
            )
        elif roll < 0.45:
            found.append(
                make("page_view", at, visitor, path="/pricing", kind="micro", goal="viewed_pricing")
            )
        elif roll < 0.55:
            found.append(
                make(
                    "form_submit", at, visitor, path="/newsletter", kind="micro", goal="newsletter"
                )
            )
        elif roll < 0.75:
            order = f"R{rng.randrange(12)}" if rng.random() < 0.8 else None
            found.append(
                buy(
                    at, visitor if rng.random() < 0.9 else None, order, round(rng.uniform(1, 99), 2)
                )
            )
        elif roll < 0.85:
            found.append(
                make(
                    "renewal",
                    at,
                    visitor,
                    kind="macro",
                    goal="renewal",
                    value=round(rng.uniform(1, 9), 2),
                    currency="EUR",
                )
            )
        elif roll < 0.95:
            found.append(make("identify", at, visitor, user_id=f"u-{rng.randrange(8)}"))
        else:
            bot = make(
                "page_view", at, "crawler", path="/pricing", kind="micro", goal="viewed_pricing"
            )
            bot.context["user_agent"] = GOOGLEBOT
            found.append(bot)
    return found  # fmt: skip


@pytest.mark.parametrize(
    "options", OPTIONS, ids=["plain", "day by channel", "bots, weekly", "days in New York"]
)
@pytest.mark.parametrize(
    "seed", [int(n) for n in os.environ.get("CONVSDK_TEST_SEEDS", "1").split(",")]
)
def test_random_late_events_are_recounted_to_the_digit(
    store: Callable[..., Store],
    caplog: pytest.LogCaptureFixture,
    seed: int,
    options: dict[str, Any],
) -> None:
    """Batches of random events, late most of them, each recounted; the rollups brought
    up to date after every other (``CONVSDK_TEST_SEEDS=1,2,3`` runs more)."""
    rng = random.Random(seed)
    known = [f"k-{n}" for n in range(30)]
    s = store(events_of_days() + _random_events(rng, known, 6 * DAY, 150))
    roll_up(s.url, keep=KeptReport(STEPS, **options))
    for step in range(4):
        s.add(_random_events(rng, known, (7 + step) * DAY, 40))
        assert _report(s.url, caplog, **options)[0], caplog.text
        if step % 2:
            roll_up(s.url)
            assert _report(s.url, caplog, **options)[0]
